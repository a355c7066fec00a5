#include "daemon/config.h"

#include <cerrno>

#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::daemon {
namespace {

using core::ErrnoOf;

TEST(ConfigTest, DefaultsAreLinuxs) {
  const core::NamespaceLimits limits;
  EXPECT_EQ(limits.shm.shmmni, 4096);
  EXPECT_EQ(limits.shm.shmmax, UINT64_MAX - (uint64_t{1} << 24));
  EXPECT_EQ(limits.shm.shmall, UINT64_MAX - (uint64_t{1} << 24));
  EXPECT_EQ(limits.sem.semmsl, 32000);
  EXPECT_EQ(limits.sem.semmni, 32000);
  EXPECT_EQ(limits.msg.msgmax, 8192);
  EXPECT_EQ(limits.msg.msgmnb, 16384);
  EXPECT_TRUE(limits.Validate().ok());
}

TEST(ConfigTest, AppliesNameValueLinesWithCommentsAndBlanks) {
  core::NamespaceLimits limits;
  ASSERT_TRUE(ApplyConfigText(limits,
                              "# namespace limits\n"
                              "shmmni = 128\n"
                              "\n"
                              "shmmax=1048576   # bytes\n"
                              "  msgmnb =  65536\n")
                  .ok());
  EXPECT_EQ(limits.shm.shmmni, 128);
  EXPECT_EQ(limits.shm.shmmax, 1048576u);
  EXPECT_EQ(limits.msg.msgmnb, 65536);
}

TEST(ConfigTest, UserSharesOfTheDaemonDefaultToAQuarterOfItsConnections) {
  core::NamespaceLimits limits;
  EXPECT_EQ(core::UserLimits::ResolvedShare(limits.user.connections, 1000), 250u);
  EXPECT_EQ(core::UserLimits::ResolvedShare(limits.user.processes, 2), 1u);
  EXPECT_EQ(limits.user.waits, 64u);
  ASSERT_TRUE(ApplyConfigText(limits, "user_connections = 10\nuser_processes = 0\nuser_waits = 3\n").ok());
  EXPECT_EQ(core::UserLimits::ResolvedShare(limits.user.connections, 1000), 10u);
  EXPECT_EQ(core::UserLimits::ResolvedShare(limits.user.processes, 1000), 0u);  // unlimited
  EXPECT_EQ(limits.user.waits, 3u);
  EXPECT_EQ(ErrnoOf(SetLimit(limits, "user_waits", "-1")), EINVAL);
}

TEST(ConfigTest, RejectsUnknownNamesMalformedLinesAndBadValues) {
  core::NamespaceLimits limits;
  absl::Status unknown = ApplyConfigText(limits, "shmfoo = 1\n");
  EXPECT_EQ(ErrnoOf(unknown), EINVAL);
  EXPECT_NE(unknown.message().find("line 1"), absl::string_view::npos) << unknown;
  EXPECT_EQ(ErrnoOf(ApplyConfigText(limits, "ok = \nshmmni\n")), EINVAL);
  EXPECT_EQ(ErrnoOf(ApplyConfigText(limits, "shmmni = lots\n")), EINVAL);
  EXPECT_EQ(ErrnoOf(ApplyConfigText(limits, "shmmni = 32769\n")), EINVAL);  // above IPCMNI
  EXPECT_EQ(ErrnoOf(ApplyConfigText(limits, "semvmx = 40000\n")), EINVAL);
  EXPECT_EQ(limits.shm.shmmni, 4096) << "a refused value must not stick";
}

// The per-user quotas are off unless configured, so the kernel's behaviour
// is unchanged by default.
TEST(ConfigTest, UserQuotasDefaultToUnlimitedAndParse) {
  core::NamespaceLimits limits;
  EXPECT_EQ(limits.user.objects, 0u);
  EXPECT_EQ(limits.user.bytes, 0u);
  ASSERT_TRUE(ApplyConfigText(limits, "user_objects = 64\nuser_bytes = 268435456\n").ok());
  EXPECT_EQ(limits.user.objects, 64u);
  EXPECT_EQ(limits.user.bytes, 268435456u);
  EXPECT_EQ(ErrnoOf(ApplyConfigText(limits, "user_objects = -1\n")), EINVAL);
  EXPECT_EQ(ErrnoOf(ApplyConfigText(limits, "user_bytes = many\n")), EINVAL);
  EXPECT_EQ(limits.user.objects, 64u) << "a refused value must not stick";
}

TEST(ConfigTest, MissingFileIsAClearError) {
  core::NamespaceLimits limits;
  absl::Status status = ApplyConfigFile(limits, "/nonexistent/sysvipcd.conf");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/nonexistent/sysvipcd.conf"), absl::string_view::npos);
}

TEST(ConfigTest, PollWindowIsADurationFromZeroToItsBound) {
  EXPECT_EQ(ParsePollWindow("50us").value(), absl::Microseconds(50));
  EXPECT_EQ(ParsePollWindow("0.1ms").value(), absl::Microseconds(100));
  EXPECT_EQ(ParsePollWindow("0").value(), absl::ZeroDuration());
  EXPECT_EQ(ParsePollWindow("10ms").value(), kMaxPollWindow);
  // Off unless asked for (see config.h for the measurement).
  EXPECT_EQ(kDefaultPollWindow, absl::ZeroDuration());
  for (const char* bad : {"", "50", "fast", "-1us", "11ms", "50s", "inf"}) {
    absl::StatusOr<absl::Duration> window = ParsePollWindow(bad);
    EXPECT_EQ(ErrnoOf(window.status()), EINVAL) << "'" << bad << "'";
    EXPECT_NE(window.status().message().find("--poll_window"), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace sysv::daemon

// The process records (daemon/client_registry.h): a record is handed only to
// a registrant of its own process instance, and each user holds at most his
// share of records (issue #12). The end-to-end attack, a stale channel of a
// reused pid, is tests/security/identity_test.cc; this checks the registry's
// own refusal, which holds even before the daemon has closed such a channel.
#include "daemon/client_registry.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "backends/linux/process_watch.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::daemon {
namespace {

using backend::UniqueFd;
using core::ErrnoOf;

class ClientRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/ledgers-XXXXXX");
    ASSERT_NE(mkdtemp(path_.data()), nullptr);
    dir_ = UniqueFd(open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir_);
  }
  void TearDown() override { (void)!std::system(absl::StrCat("rm -rf '", path_, "'").c_str()); }

  ClientRegistry MakeRegistry(uint32_t share) {
    return ClientRegistry(
        dir_.get(), 16, share, [](int, int32_t) { return absl::OkStatus(); }, [](int) {});
  }

  // Registers `who` (an instance of a live process, through `pidfd`).
  static absl::StatusOr<ClientProcess*> Register(ClientRegistry& registry, pid_t pid, uint64_t start_time,
                                                 int pidfd, uint32_t uid) {
    return registry.Register(ClientRegistry::Registrant{pid, start_time, pidfd, uid}, false,
                             [](const core::AttachLedger&, int32_t) {}, [](const ClientProcess&) {});
  }

  std::string path_;
  UniqueFd dir_;
};

TEST_F(ClientRegistryTest, ARecordGoesOnlyToItsOwnInstance) {
  ClientRegistry registry = MakeRegistry(0);
  absl::StatusOr<UniqueFd> pidfd = linux_backend::OpenPidfd(getpid());
  ASSERT_TRUE(pidfd.ok());
  absl::StatusOr<uint64_t> start = linux_backend::ProcessStartTime(getpid());
  ASSERT_TRUE(start.ok());
  absl::StatusOr<ClientProcess*> mine = Register(registry, getpid(), *start, pidfd->get(), 2400);
  ASSERT_TRUE(mine.ok()) << mine.status();
  // The same instance again (a new channel of the same process): the same record.
  absl::StatusOr<ClientProcess*> again = Register(registry, getpid(), *start, pidfd->get(), 2400);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *mine);
  // A registrant claiming this pid with another start time (a channel whose
  // process was an earlier holder of the pid) gets nothing, while the
  // record's process lives.
  EXPECT_EQ(ErrnoOf(Register(registry, getpid(), *start - 1, pidfd->get(), 2401).status()), ESRCH);
  EXPECT_EQ(registry.Find(getpid(), *start - 1), nullptr);
  EXPECT_EQ(registry.Find(getpid(), *start), *mine);
}

TEST_F(ClientRegistryTest, AChannelWhoseProcessExitedGetsNothing) {
  ClientRegistry registry = MakeRegistry(0);
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  absl::StatusOr<UniqueFd> pidfd = linux_backend::OpenPidfd(child);
  ASSERT_TRUE(pidfd.ok());
  absl::StatusOr<uint64_t> start = linux_backend::ProcessStartTime(child);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(ErrnoOf(Register(registry, child, start.ok() ? *start : 1, pidfd->get(), 2400).status()), ESRCH);
  EXPECT_EQ(registry.size(), 0u);
}

TEST_F(ClientRegistryTest, EachUserHoldsAtMostHisShare) {
  ClientRegistry registry = MakeRegistry(1);
  // Two live processes: this one and a child that waits to be told to go.
  int release[2];
  ASSERT_EQ(pipe2(release, O_CLOEXEC), 0);
  const pid_t child = fork();
  if (child == 0) {
    char byte;
    close(release[1]);
    (void)!read(release[0], &byte, 1);
    _exit(0);
  }
  close(release[0]);
  ASSERT_GT(child, 0);
  absl::StatusOr<UniqueFd> own = linux_backend::OpenPidfd(getpid());
  absl::StatusOr<UniqueFd> theirs = linux_backend::OpenPidfd(child);
  absl::StatusOr<uint64_t> own_start = linux_backend::ProcessStartTime(getpid());
  absl::StatusOr<uint64_t> their_start = linux_backend::ProcessStartTime(child);
  ASSERT_TRUE(own.ok() && theirs.ok() && own_start.ok() && their_start.ok());
  ASSERT_TRUE(Register(registry, getpid(), *own_start, own->get(), 2400).ok());
  EXPECT_EQ(ErrnoOf(Register(registry, child, *their_start, theirs->get(), 2400).status()), EAGAIN);
  // Another user's share is his own.
  EXPECT_TRUE(Register(registry, child, *their_start, theirs->get(), 2401).ok());
  // A retired record frees its share.
  registry.Retire(getpid(), [](const ClientProcess&) {});
  registry.Retire(child, [](const ClientProcess&) {});
  EXPECT_TRUE(Register(registry, child, *their_start, theirs->get(), 2400).ok());
  close(release[1]);
  waitpid(child, nullptr, 0);
}

}  // namespace
}  // namespace sysv::daemon

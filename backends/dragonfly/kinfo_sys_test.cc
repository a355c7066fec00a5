// The kinfo_sys.h contract, as a test that runs against either
// implementation: on Linux against the /proc double (kinfo_sys_test), on
// DragonFly against the real sysctl (kinfo_sys_dragonfly_test, which can
// only run there). POSIX calls only.
#include "backends/dragonfly/kinfo_sys.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/dragonfly/dragonfly_abi.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

int32_t PidOf(const std::vector<uint8_t>& record) {
  int32_t pid;
  std::memcpy(&pid, record.data() + abi::kKpPidOffset, sizeof(pid));
  return pid;
}

TEST(KinfoSysTest, OneRecordForAProcess) {
  ASSERT_GE(KinfoProcSize(), abi::kKinfoProcMinSize);
  std::vector<uint8_t> record(KinfoProcSize() + 64);
  size_t length = record.size();
  ASSERT_EQ(ReadKinfoProc(getpid(), record.data(), &length), 0)
      << std::strerror(errno);
  EXPECT_EQ(length, KinfoProcSize());
  EXPECT_EQ(PidOf(record), getpid());
}

TEST(KinfoSysTest, ShortBufferIsEnomem) {
  std::vector<uint8_t> record(KinfoProcSize() - 1);
  size_t length = record.size();
  EXPECT_EQ(ReadKinfoProc(getpid(), record.data(), &length), -1);
  EXPECT_EQ(errno, ENOMEM);
}

// The path names this test's own binary (kinfo_sys_test or
// kinfo_sys_dragonfly_test), whole and NUL-terminated; too small a buffer is
// an error, never a cut path.
TEST(KinfoSysTest, OwnExecutablePathIsThisBinary) {
  char path[4096];
  const ssize_t n = ReadOwnExecutablePath(path, sizeof(path));
  ASSERT_GT(n, 0) << std::strerror(errno);
  EXPECT_EQ(std::strlen(path), static_cast<size_t>(n));
  EXPECT_EQ(path[0], '/');
  EXPECT_NE(std::strstr(path, "kinfo_sys"), nullptr) << path;
  char small[4];
  EXPECT_EQ(ReadOwnExecutablePath(small, sizeof(small)), -1);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(KinfoSysTest, NoRecordForAZombieOrAReapedProcess) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  siginfo_t info;
  while (waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) < 0 &&
         errno == EINTR) {
  }
  std::vector<uint8_t> record(KinfoProcSize());
  size_t length = record.size();
  ASSERT_EQ(ReadKinfoProc(child, record.data(), &length), 0);
  EXPECT_EQ(length, 0u) << "a zombie has a record";
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  length = record.size();
  ASSERT_EQ(ReadKinfoProc(child, record.data(), &length), 0);
  EXPECT_EQ(length, 0u);
}

}  // namespace
}  // namespace sysv::dragonfly_backend

// Process descriptors (process_handle.h), the exit watch keyed by them
// (process_exit_watch.h) and PeerProcess, over the kqueue and kinfo_proc
// doubles with real child processes.
#include "backends/dragonfly/process_handle.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/kinfo_sys.h"
#include "backends/dragonfly/process_exit_watch.h"
#include "backends/dragonfly/process_watch.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoOf;

// A child that waits for SIGKILL.
pid_t SpawnSleeper() {
  const pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  return child;
}

TEST(ProcessHandleTest, ReadableOnceTheProcessExits) {
  const pid_t child = SpawnSleeper();
  ASSERT_GT(child, 0);
  absl::StatusOr<UniqueFd> handle = OpenProcessHandle(child);
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_FALSE(ProcessHandleExited(handle->get()));
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(ProcessHandleExited(handle->get()));
  EXPECT_TRUE(ProcessHandleExited(handle->get())) << "stays readable";
}

TEST(ProcessHandleTest, ZombieFiresAtOnceReapedIsEsrch) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  absl::StatusOr<UniqueFd> handle = OpenProcessHandle(child);
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_TRUE(ProcessHandleExited(handle->get()));
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(ErrnoOf(OpenProcessHandle(child).status()), ESRCH);
  EXPECT_EQ(ErrnoOf(OpenProcessHandle(0).status()), ESRCH);
}

TEST(ProcessExitWatchTest, ReportsExitsByPidRemovesByDescriptor) {
  absl::StatusOr<ProcessExitWatch> watch = ProcessExitWatch::Create();
  ASSERT_TRUE(watch.ok()) << watch.status();
  const pid_t first = SpawnSleeper();
  const pid_t second = SpawnSleeper();
  absl::StatusOr<UniqueFd> first_fd = OpenProcessHandle(first);
  absl::StatusOr<UniqueFd> second_fd = OpenProcessHandle(second);
  ASSERT_TRUE(first_fd.ok() && second_fd.ok());
  ASSERT_TRUE(watch->Add(first, first_fd->get()).ok());
  ASSERT_TRUE(watch->Add(second, second_fd->get()).ok());
  EXPECT_TRUE(watch->Exited().empty());
  int status;
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_EQ(waitpid(first, &status, 0), first);
  EXPECT_EQ(watch->Exited(), std::vector<pid_t>{first});
  EXPECT_EQ(watch->Exited(), std::vector<pid_t>{first}) << "reported until removed";
  watch->Remove(first_fd->get());
  EXPECT_TRUE(watch->Exited().empty());
  watch->Remove(second_fd->get());
  ASSERT_EQ(kill(second, SIGKILL), 0);
  ASSERT_EQ(waitpid(second, &status, 0), second);
  EXPECT_TRUE(watch->Exited().empty()) << "removed before its exit";
}

TEST(PeerProcessTest, TheProcessWithThePeersUid) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair), 0);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  absl::StatusOr<ProcessInstance> self = PeerProcess(ours.get(), getpid(), geteuid());
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_EQ(self->pid, getpid());
  EXPECT_EQ(self->start_time, *ProcessStartTime(getpid()));
  EXPECT_FALSE(ProcessHandleExited(self->process_fd.get()));
  EXPECT_EQ(ErrnoOf(PeerProcess(ours.get(), getpid(), geteuid() + 1).status()), ESRCH)
      << "a pid whose process runs as another user is not the peer";
}

TEST(ProcessWatchTest, ParentUidAndThreads) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(getpid());
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->ppid, getppid());
  EXPECT_EQ(stat->start_time, *ProcessStartTime(getpid()));
  EXPECT_EQ(*ProcessEffectiveUid(getpid()), geteuid());
  EXPECT_TRUE(IsThreadOf(getpid(), CurrentLwpId()));
  EXPECT_FALSE(IsThreadOf(getpid(), 0));
  EXPECT_FALSE(IsThreadOf(getppid(), CurrentLwpId()));
}

TEST(ProcessWatchTest, ParsesProcfsRlimit) {
  EXPECT_EQ(*ParseProcfsMemlock("cpu -1 -1\nmemlock 65536 131072\nnproc 10 20\n"), 65536u);
  EXPECT_EQ(*ParseProcfsMemlock("memlock -1 -1\n"), UINT64_MAX);
  EXPECT_EQ(ErrnoOf(ParseProcfsMemlock("cpu -1 -1\n").status()), EINVAL);
  EXPECT_EQ(ErrnoOf(ParseProcfsMemlock("memlock x 1\n").status()), EINVAL);
}

}  // namespace
}  // namespace sysv::dragonfly_backend

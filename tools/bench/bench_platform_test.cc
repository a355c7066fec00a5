// The platform names the benchmark uses (backends/<os>/platform.h), run
// through //backends:platform: under the default configuration Linux's
// (PR_SET_PDEATHSIG, pidfd_send_signal, unshare), under
// --config=dragonfly_doubles the DragonFly backend's (a thread on the
// parent's process handle, kill(2) checked by the handle, no namespaces)
// over its Linux doubles.
#include <poll.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv {
namespace {

int WaitStatus(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// A grandchild that asked to die with its parent (the middle process) is
// killed once the middle process exits. The grandchild alone holds the
// write end of `alive`: its death is EOF there.
TEST(BenchPlatformTest, DieWithParentKillsTheChildWhenItsParentExits) {
  int ready[2], go[2], alive[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(alive), 0);
  const pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    const pid_t self = getpid();
    const pid_t grandchild = fork();
    if (grandchild < 0) _exit(1);
    if (grandchild == 0) {
      for (int fd : {alive[0], go[0], go[1], ready[0]}) close(fd);
      const bool watched = platform::DieWithParent(self, SIGKILL);
      const pid_t me = getpid();
      if (!watched || write(ready[1], &me, sizeof(me)) != sizeof(me)) _exit(2);
      for (;;) pause();
    }
    close(alive[1]);
    close(go[1]);
    char byte;
    // Blocks until the test closes its end, then exits.
    while (read(go[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(alive[1]);
  pid_t grandchild = 0;
  ASSERT_EQ(read(ready[0], &grandchild, sizeof(grandchild)), static_cast<ssize_t>(sizeof(grandchild)));
  close(go[1]);  // the middle process exits
  EXPECT_EQ(WaitStatus(middle), 0);
  struct pollfd gone = {alive[0], POLLIN, 0};
  const bool died = poll(&gone, 1, 5000) == 1;
  EXPECT_TRUE(died) << "the grandchild outlived its parent by 5 s";
  if (!died) kill(grandchild, SIGKILL);
  for (int fd : {ready[0], ready[1], go[0], alive[0]}) close(fd);
}

TEST(BenchPlatformTest, DieWithParentSaysWhenTheGivenPidIsNotTheParent) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(platform::DieWithParent(getpid(), SIGKILL) ? 1 : 0);
  EXPECT_EQ(WaitStatus(child), 0);
  const pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) _exit(platform::DieWithParent(getppid(), SIGKILL) ? 0 : 1);
  EXPECT_EQ(WaitStatus(other), 0);
}

// The handle names the process: signalled while it lives, ESRCH once it
// has exited and been reaped (a recycled pid is never signalled).
TEST(BenchPlatformTest, SignalProcessReachesTheProcessAndNotAfterItsExit) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) pause();
  }
  absl::StatusOr<backend::UniqueFd> handle = platform::OpenProcessHandle(child);
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_EQ(platform::SignalProcess(handle->get(), child, SIGTERM), 0);
  const int status = WaitStatus(child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  errno = 0;
  EXPECT_EQ(platform::SignalProcess(handle->get(), child, SIGTERM), -1);
  EXPECT_EQ(errno, ESRCH);
}

// Linux (root here): a namespace where the host's objects are not seen.
// DragonFly: ENOSYS, it has none.
TEST(BenchPlatformTest, PrivateIpcNamespaceHidesTheHostsObjects) {
  const key_t key = 0x4350A001;
  const int host_queue = msgget(key, IPC_CREAT | 0600);
  ASSERT_GE(host_queue, 0) << errno;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const absl::Status entered = platform::EnterPrivateIpcNamespace();
    if (!entered.ok()) _exit(core::ErrnoOf(entered) == ENOSYS || core::ErrnoOf(entered) == EPERM ? 10 : 11);
    _exit(msgget(key, 0) < 0 && errno == ENOENT ? 0 : 12);
  }
  const int status = WaitStatus(child);
  msgctl(host_queue, IPC_RMID, nullptr);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 10) << WEXITSTATUS(status);
}

}  // namespace
}  // namespace sysv

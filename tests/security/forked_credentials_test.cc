// Issue #14 (clients/200): a forked child starts with its parent's cached
// credentials (fork copies every credential; only the pid changes), so that
// its first call served from the mapped tables reads none from the kernel.
// That cache must never let a child act with credentials it no longer has:
// a child that drops to another user through the C library is judged as
// that user, and a child forked while another thread of its parent was
// changing credentials (the change made in the kernel, the cache not yet
// told) does not keep the parent's old answer: that thread does not exist
// in the child to tell it.
//
// The victim is a root-owned segment of mode 0600; the judge is what the
// kernel says the child's effective uid is (a raw system call, past any
// interposer): IPC_STAT must succeed exactly when that uid is 0.
#include <grp.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

// Ids 4150-4199 are this suite's.
constexpr uid_t kOtherUid = 4151;
constexpr gid_t kOtherGid = 4151;

class ForkedCredentialsTest : public testing::SharedNamespaceTest {
 protected:
  ForkedCredentialsTest() : SharedNamespaceTest("forked-creds") {}
};

// What a child reports: 0 when IPC_STAT's outcome matches its kernel
// euid, 1 when it read a segment its user may not read, 2 when it was
// refused one its user may read, 3 when the call failed otherwise.
int StatMatchesKernelIdentity(int shmid) {
  struct shmid_ds ds;
  const int result = sysv_shmctl(shmid, IPC_STAT, &ds);
  const int err = errno;
  const bool privileged = syscall(SYS_geteuid) == 0;
  if (privileged) return result == 0 ? 0 : 2;
  if (result == 0) return 1;
  return err == EACCES ? 0 : 3;
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The parent (root) has cached its credentials by a stat served from the
// table; its child drops to another user through the C library and stats
// the root-owned 0600 segment: EACCES, as the kernel would answer.
TEST_F(ForkedCredentialsTest, ChildThatDropsToAnotherUserIsJudgedAsThatUser) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  struct shmid_ds ds;
  ASSERT_EQ(sysv_shmctl(id, IPC_STAT, &ds), 0) << std::strerror(errno);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Root's cached answer first, in the child: the cache is the child's now.
    if (sysv_shmctl(id, IPC_STAT, &ds) != 0) _exit(4);
    if (setgroups(0, nullptr) != 0 || setresgid(kOtherGid, kOtherGid, kOtherGid) != 0 ||
        setresuid(kOtherUid, kOtherUid, kOtherUid) != 0) {
      _exit(testing::kCannotSwitchIdentity);
    }
    _exit(StatMatchesKernelIdentity(id));
  }
  EXPECT_EQ(WaitExit(pid), 0) << "1: the child read root's 0600 segment as uid " << kOtherUid;
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

// One thread of the parent flips its effective uid between root and
// another user (through the C library, which tells the cache) while the
// main thread forks children that stat at once. A child forked inside a
// flip (the kernel changed, the cache not yet told) must not take the
// parent's cached root answer with it.
TEST_F(ForkedCredentialsTest, ChildForkedDuringACredentialChangeIsJudgedByTheKernel) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  // A process of its own, so that the flipping uid never touches the test's.
  const pid_t runner = fork();
  ASSERT_GE(runner, 0);
  if (runner == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::atomic<bool> stop{false};
    std::thread flipper([&] {
      struct shmid_ds ds;
      while (!stop.load(std::memory_order_relaxed)) {
        // Each state is cached by a stat, so a fork finds a live snapshot.
        if (seteuid(kOtherUid) != 0) _exit(5);
        (void)sysv_shmctl(id, IPC_STAT, &ds);
        if (seteuid(0) != 0) _exit(5);
        (void)sysv_shmctl(id, IPC_STAT, &ds);
      }
    });
    int verdict = 0;
    for (int i = 0; i < 400 && verdict == 0; ++i) {
      const pid_t child = fork();
      if (child < 0) {
        verdict = 6;
        break;
      }
      if (child == 0) _exit(StatMatchesKernelIdentity(id));
      verdict = WaitExit(child);
    }
    stop.store(true);
    flipper.join();
    _exit(verdict);
  }
  EXPECT_EQ(WaitExit(runner), 0)
      << "1: a child read root's 0600 segment as uid " << kOtherUid << "; 2: a root child was refused";
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

}  // namespace
}  // namespace sysv

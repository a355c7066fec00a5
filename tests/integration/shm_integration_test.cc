// Shared memory end to end: a real sysvipcd, real client processes.
#include <signal.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "backends/platform.h"
#include "sysv/sysv.h"
#include "tests/testing/event_loops.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::FreshNamespaceDir;
using testing::TestDaemon;

// Runs `body` in a forked child and returns its exit status (0 = passed).
template <typename Body>
int InChild(Body&& body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

shmid_ds Stat(int id) {
  shmid_ds ds{};
  EXPECT_EQ(sysv_shmctl(id, IPC_STAT, &ds), 0) << std::strerror(errno);
  return ds;
}

class ShmIntegrationTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<TestDaemon>(FreshNamespaceDir(GetParam()),
                                           std::vector<std::string>{std::string("--event_loop=") + GetParam()});
    daemon_->Start();
  }
  std::unique_ptr<TestDaemon> daemon_;
};

TEST_P(ShmIntegrationTest, ForkedChildSharesDataAndCountsAsAttached) {
  const int id = sysv_shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  char* p = static_cast<char*>(sysv_shmat(id, nullptr, 0));
  ASSERT_NE(p, reinterpret_cast<char*>(-1)) << std::strerror(errno);
  std::strcpy(p, "hello");
  EXPECT_EQ(Stat(id).shm_nattch, 1u);

  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  const pid_t child = fork();
  if (child == 0) {
    // The child inherited the attachment and sees the parent's data.
    if (std::strcmp(p, "hello") != 0) _exit(1);
    std::strcpy(p + 100, "from child");
    char c = 'x';
    if (write(to_parent[1], &c, 1) != 1) _exit(2);
    if (read(to_child[0], &c, 1) != 1) _exit(3);
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(to_parent[0], &c, 1), 1);
  EXPECT_EQ(Stat(id).shm_nattch, 2u);
  EXPECT_STREQ(p + 100, "from child");
  ASSERT_EQ(write(to_child[1], &c, 1), 1);
  int status;
  waitpid(child, &status, 0);
  EXPECT_EQ(status, 0);
  // The child's exit dropped its attachment (the daemon saw it die).
  for (int i = 0; i < 200 && Stat(id).shm_nattch != 1u; ++i) usleep(5000);
  shmid_ds ds = Stat(id);
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_lpid, child);
  EXPECT_EQ(sysv_shmdt(p), 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, RemovedSegmentLivesUntilLastDetach) {
  const key_t key = 0x5157;
  const int id = sysv_shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0640);
  ASSERT_GE(id, 0) << std::strerror(errno);
  void* p = sysv_shmat(id, nullptr, 0);
  ASSERT_NE(p, reinterpret_cast<void*>(-1));
  ASSERT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
  shmid_ds ds = Stat(id);
  EXPECT_EQ(ds.shm_perm.__key, 0);
  EXPECT_EQ(ds.shm_perm.mode, 0640 | SHM_DEST);
  // The key is free again: a new segment may take it.
  const int again = sysv_shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  EXPECT_GE(again, 0);
  EXPECT_NE(again, id);
  ASSERT_EQ(sysv_shmdt(p), 0);
  shmid_ds gone;
  EXPECT_EQ(sysv_shmctl(id, IPC_STAT, &gone), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(sysv_shmctl(again, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, KilledClientLeavesNoAttachment) {
  const int id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
  ASSERT_GE(id, 0);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  if (child == 0) {
    void* p = sysv_shmat(id, nullptr, 0);
    char c = p == reinterpret_cast<void*>(-1) ? 'n' : 'y';
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_EQ(Stat(id).shm_nattch, 1u);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  for (int i = 0; i < 200 && Stat(id).shm_nattch != 0u; ++i) usleep(5000);
  shmid_ds ds = Stat(id);
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_lpid, child);  // the exit detached it
  EXPECT_NE(ds.shm_dtime, 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, ObjectsSurviveDaemonKill) {
  // A restarted daemon counts a surviving client's attachments from the
  // files that client holds, which it reads from the kernel (a ledger the
  // client writes is a claim, DESIGN.md "Trust model" 4). Where the backend
  // cannot list another process's files (DragonFly: ENOSYS) they are not
  // counted, as the daemon logs and backends/dragonfly/README.md says.
  if (!platform::ProcessHeldFiles(getpid(), 1).ok()) {
    GTEST_SKIP() << "this backend cannot list a process's held files (ProcessHeldFiles)";
  }
  const key_t key = 0x7e57;
  const int id = sysv_shmget(key, 5000, IPC_CREAT | 0604);
  ASSERT_GE(id, 0);
  char* p = static_cast<char*>(sysv_shmat(id, nullptr, 0));
  ASSERT_NE(p, reinterpret_cast<char*>(-1));
  std::strcpy(p + 4500, "persistent");
  const shmid_ds before = Stat(id);

  daemon_->Kill();
  daemon_->Start();

  // The same id, key, fields and contents; this process reconnects unnoticed.
  EXPECT_EQ(sysv_shmget(key, 0, 0), id);
  const shmid_ds after = Stat(id);
  EXPECT_EQ(after.shm_perm.mode, before.shm_perm.mode);
  EXPECT_EQ(after.shm_segsz, before.shm_segsz);
  EXPECT_EQ(after.shm_cpid, before.shm_cpid);
  EXPECT_EQ(after.shm_ctime, before.shm_ctime);
  EXPECT_EQ(after.shm_nattch, 1u);
  char* q = static_cast<char*>(sysv_shmat(id, nullptr, SHM_RDONLY));
  ASSERT_NE(q, reinterpret_cast<char*>(-1)) << std::strerror(errno);
  EXPECT_STREQ(q + 4500, "persistent");
  EXPECT_EQ(Stat(id).shm_nattch, 2u);
  EXPECT_EQ(sysv_shmdt(q), 0);
  EXPECT_EQ(sysv_shmdt(p), 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, ReattachOfKnownSegmentSkipsTheDaemon) {
  const int id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
  ASSERT_GE(id, 0);
  void* first = sysv_shmat(id, nullptr, 0);
  ASSERT_NE(first, reinterpret_cast<void*>(-1));
  ASSERT_EQ(sysv_shmdt(first), 0);
  // With the daemon stopped (SIGSTOP: it cannot answer), attaching the same
  // segment again still works: it runs on the mapped table and ledger.
  ASSERT_EQ(kill(daemon_->pid(), SIGSTOP), 0);
  void* second = sysv_shmat(id, nullptr, 0);
  const int err = errno;
  ASSERT_EQ(kill(daemon_->pid(), SIGCONT), 0);
  ASSERT_NE(second, reinterpret_cast<void*>(-1)) << std::strerror(err);
  EXPECT_EQ(Stat(id).shm_nattch, 1u);
  EXPECT_EQ(sysv_shmdt(second), 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, StatOfASegmentOnlyThisProcessHoldsSkipsTheDaemon) {
  const int id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
  ASSERT_GE(id, 0);
  const int unattached = sysv_shmget(IPC_PRIVATE, 8192, 0600);
  ASSERT_GE(unattached, 0);
  void* p = sysv_shmat(id, nullptr, 0);
  ASSERT_NE(p, reinterpret_cast<void*>(-1));
  // With the daemon stopped (SIGSTOP: it cannot answer), IPC_STAT and
  // SHM_STAT of a segment attached by this process alone, and of one nobody
  // attached, still answer, nattch and times included: from the mapped table
  // and this process's ledger (core/shm/shm_stat.h). A stat that asked the
  // daemon would wait until the test timed out.
  ASSERT_EQ(kill(daemon_->pid(), SIGSTOP), 0);
  struct shmid_ds ds {};
  const int stat_result = sysv_shmctl(id, IPC_STAT, &ds);
  const int stat_errno = errno;
  struct shmid_ds by_index {};
  const int index_result = sysv_shmctl(id & 0x7fff, SHM_STAT, &by_index);
  struct shmid_ds other {};
  const int other_result = sysv_shmctl(unattached, IPC_STAT, &other);
  ASSERT_EQ(kill(daemon_->pid(), SIGCONT), 0);
  ASSERT_EQ(stat_result, 0) << std::strerror(stat_errno);
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_lpid, getpid());
  EXPECT_NE(ds.shm_atime, 0);
  EXPECT_EQ(ds.shm_segsz, 4096u);
  EXPECT_EQ(index_result, id);
  EXPECT_EQ(by_index.shm_nattch, 1u);
  ASSERT_EQ(other_result, 0);
  EXPECT_EQ(other.shm_nattch, 0u);
  EXPECT_EQ(other.shm_lpid, 0);
  EXPECT_EQ(sysv_shmdt(p), 0);
  EXPECT_EQ(Stat(id).shm_lpid, getpid());
  EXPECT_NE(Stat(id).shm_dtime, 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
  EXPECT_EQ(sysv_shmctl(unattached, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, ReadOnlyAttachFaultsOnWrite) {
  const int id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
  ASSERT_GE(id, 0);
  volatile char* p = static_cast<char*>(sysv_shmat(id, nullptr, SHM_RDONLY));
  ASSERT_NE(p, reinterpret_cast<char*>(-1));
  // SIG_DFL first: a sanitizer's SEGV handler would turn the fault into an
  // error report and exit instead of the signal the kernel delivers.
  EXPECT_EXIT(
      {
        signal(SIGSEGV, SIG_DFL);
        p[0] = 1;
        _exit(0);
      },
      ::testing::KilledBySignal(SIGSEGV), "");
  EXPECT_EQ(sysv_shmdt(const_cast<char*>(p)), 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, BadBuffersGiveEfault) {
  const int id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
  ASSERT_GE(id, 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_STAT, nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  void* readonly = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_STAT, static_cast<shmid_ds*>(readonly)), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(sysv_shmctl(id, IPC_SET, nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  munmap(readonly, 4096);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, CredentialsAreThoseOfEachCall) {
  const int id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
  ASSERT_GE(id, 0);
  void* p = sysv_shmat(id, nullptr, 0);
  ASSERT_NE(p, reinterpret_cast<void*>(-1));
  ASSERT_EQ(sysv_shmdt(p), 0);
  // A child that drops to nobody after using the segment is refused, on the
  // daemon path (IPC_STAT) and on the fast path (a known segment's shmat).
  const int status = InChild([&] {
    if (sysv_shmat(id, nullptr, 0) == reinterpret_cast<void*>(-1)) return 1;
    // Bazel's sandbox may run us in a user namespace where 65534 is unmapped.
    if (setgid(65534) != 0 || setuid(65534) != 0) return 77;
    shmid_ds ds;
    if (sysv_shmctl(id, IPC_STAT, &ds) != -1 || errno != EACCES) return 3;
    if (sysv_shmat(id, nullptr, 0) != reinterpret_cast<void*>(-1) || errno != EACCES) return 4;
    return 0;
  });
  if (status == 77) GTEST_SKIP() << "this process cannot change its uid to 65534 (setuid: EINVAL/EPERM)";
  EXPECT_EQ(status, 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

TEST_P(ShmIntegrationTest, ForkWhileOtherThreadsAreInCallsGivesAWorkingChild) {
  const int id = sysv_shmget(IPC_PRIVATE, 8192, 0600);
  ASSERT_GE(id, 0);
  void* held = sysv_shmat(id, nullptr, 0);
  ASSERT_NE(held, reinterpret_cast<void*>(-1));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        void* p = sysv_shmat(id, nullptr, 0);
        shmid_ds ds;
        if (p == reinterpret_cast<void*>(-1) || sysv_shmctl(id, IPC_STAT, &ds) != 0 ||
            sysv_shmdt(p) != 0) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    const int status = InChild([&] {
      // Immediately usable: the inherited attachment, a new segment, stat.
      if (static_cast<char*>(held)[0] != 0) return 1;
      const int mine = sysv_shmget(IPC_PRIVATE, 4096, 0600);
      if (mine < 0) return 2;
      void* p = sysv_shmat(mine, nullptr, 0);
      if (p == reinterpret_cast<void*>(-1)) return 3;
      shmid_ds ds;
      if (sysv_shmctl(id, IPC_STAT, &ds) != 0 || ds.shm_nattch < 2) return 4;
      if (sysv_shmdt(p) != 0 || sysv_shmctl(mine, IPC_RMID, nullptr) != 0) return 5;
      return 0;
    });
    EXPECT_EQ(status, 0) << "round " << round;
  }
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Stat(id).shm_nattch, 1u);
  EXPECT_EQ(sysv_shmdt(held), 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

TEST(ShmLimitsTest, DaemonLimitsAreEnforcedAndReported) {
  TestDaemon daemon(FreshNamespaceDir("limits"), {"--limit=shmmni=2,shmmax=8192,shmall=3"});
  daemon.Start();
  shminfo info{};
  ASSERT_GE(sysv_shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&info)), 0);
  EXPECT_EQ(info.shmmni, 2u);
  EXPECT_EQ(info.shmmax, 8192u);
  EXPECT_EQ(info.shmall, 3u);
  EXPECT_EQ(sysv_shmget(IPC_PRIVATE, 8193, 0600), -1);
  EXPECT_EQ(errno, EINVAL);
  const int a = sysv_shmget(IPC_PRIVATE, 8192, 0600);  // 2 pages of SHMALL's 3
  ASSERT_GE(a, 0);
  EXPECT_EQ(sysv_shmget(IPC_PRIVATE, 8192, 0600), -1);  // would need 4 pages
  EXPECT_EQ(errno, ENOSPC);
  const int b = sysv_shmget(IPC_PRIVATE, 100, 0600);
  ASSERT_GE(b, 0);
  EXPECT_EQ(sysv_shmget(IPC_PRIVATE, 1, 0600), -1);  // SHMMNI (and SHMALL) reached
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_EQ(sysv_shmctl(a, IPC_RMID, nullptr), 0);
  EXPECT_EQ(sysv_shmctl(b, IPC_RMID, nullptr), 0);
}

INSTANTIATE_TEST_SUITE_P(EventLoops, ShmIntegrationTest, SYSV_BACKEND_EVENT_LOOPS, ::sysv::testing::EventLoopTestName);

}  // namespace
}  // namespace sysv

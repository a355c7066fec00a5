// Thousands of connections from one abuser: the daemon must stay within its
// descriptor limit, refuse (close) what it cannot serve, and keep serving
// clients that were already connected, including requests that need the
// daemon to open a descriptor (a first shmat, a first semop). When the
// flood ends, new clients are served again and the daemon holds no more
// descriptors than before.
//
// The daemon runs with a small RLIMIT_NOFILE (set in this process around its
// start, and restored), so that the flood reaches the limit with a bounded
// number of connections; the abuser never exceeds its own RLIMIT_NOFILE.
//
// Message queues: the connected client's checks during the flood gain a
// first msgsnd on a new queue (a region the daemon must open) when queues
// exist.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "backends/common/namespace_layout.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/event_loops.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::FreshNamespaceDir;
using testing::RawClient;
using testing::RawReply;
using testing::TestDaemon;

constexpr rlim_t kDaemonFdLimit = 256;
constexpr int kFloodConnections = 3000;

// Starts `daemon` with RLIMIT_NOFILE lowered to `limit` (soft), restoring
// this process's limit afterwards.
void StartWithFdLimit(TestDaemon& daemon, rlim_t limit) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit lowered = saved;
  lowered.rlim_cur = std::min(limit, saved.rlim_cur);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  daemon.Start();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

// Non-blocking connect: a full backlog is EAGAIN, not a hang.
int ConnectNonBlocking(const std::string& dir) {
  const int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, backend::SocketPath(dir).c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The flood: a child process that opens up to `count` connections (within
// its own RLIMIT_NOFILE), tells the parent through `ready` how many it got,
// and holds them until `release` is written to.
pid_t StartFlood(const std::string& dir, int count, int ready, int release) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  const int budget = static_cast<int>(std::min<rlim_t>(count, limit.rlim_cur > 64 ? limit.rlim_cur - 64 : 0));
  std::vector<int> fds;
  for (int i = 0; i < budget; ++i) {
    const int fd = ConnectNonBlocking(dir);
    if (fd >= 0) fds.push_back(fd);
  }
  const int opened = static_cast<int>(fds.size());
  (void)!write(ready, &opened, sizeof(opened));
  char c;
  (void)!read(release, &c, 1);
  for (int fd : fds) close(fd);
  _exit(0);
}

// Runs libsysv calls in a fresh process (a new connection, a new
// registration) and returns its exit status: 0 when all worked.
int FreshClientWorks() {
  const pid_t pid = fork();
  if (pid == 0) {
    const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) _exit(1);
    void* p = sysv_shmat(id, nullptr, 0);
    if (p == reinterpret_cast<void*>(-1)) _exit(2);
    static_cast<char*>(p)[0] = 1;
    if (sysv_shmdt(p) != 0 || sysv_shmctl(id, IPC_RMID, nullptr) != 0) _exit(3);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class ConnectionFloodTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ConnectionFloodTest, FloodDoesNotStarveConnectedClientsOrLeakDescriptors) {
  // --raise_fd_limit=false: the daemon keeps the small soft limit given.
  TestDaemon daemon(FreshNamespaceDir("flood"),
                    {std::string("--event_loop=") + GetParam(), "--raise_fd_limit=false"});
  StartWithFdLimit(daemon, kDaemonFdLimit);
  if (HasFatalFailure()) return;

  // The bystander: connected and registered before the flood, with data.
  const int shm_id = sysv_shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
  ASSERT_GE(shm_id, 0) << std::strerror(errno);
  char* shm = static_cast<char*>(sysv_shmat(shm_id, nullptr, 0));
  ASSERT_NE(shm, reinterpret_cast<char*>(-1)) << std::strerror(errno);
  std::strcpy(shm + 100, "still here");
  const int sem_id = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  ASSERT_GE(sem_id, 0);
  ASSERT_EQ(sysv_semctl(sem_id, 0, SETVAL, 3), 0);
  const int daemon_fds_before = testing::OpenFdCountOf(daemon.pid());
  ASSERT_GT(daemon_fds_before, 0);

  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t flood = StartFlood(daemon.dir(), kFloodConnections, ready[1], release[0]);
  ASSERT_GT(flood, 0);
  // Ends the flood on every path out of this test, failures included.
  struct FloodGuard {
    pid_t pid;
    int release;
    ~FloodGuard() {
      if (pid <= 0) return;
      (void)!write(release, "x", 1);
      waitpid(pid, nullptr, 0);
    }
  } guard{flood, release[1]};
  int opened = 0;
  ASSERT_EQ(read(ready[0], &opened, sizeof(opened)), static_cast<ssize_t>(sizeof(opened)));
  std::printf("flood: %d of %d connections opened (daemon RLIMIT_NOFILE %d)\n", opened,
              kFloodConnections, static_cast<int>(kDaemonFdLimit));
  EXPECT_GT(opened, static_cast<int>(kDaemonFdLimit)) << "the flood did not reach the daemon's limit";

  // While the flood holds: the connected client's calls that need the
  // daemon to open descriptors (a new segment's first shmat, a new set's
  // first semop) and to answer (IPC_STAT) still work, with kernel errnos.
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    ASSERT_GE(id, 0) << std::strerror(errno);
    void* p = sysv_shmat(id, nullptr, 0);
    EXPECT_NE(p, reinterpret_cast<void*>(-1)) << std::strerror(errno);
    if (p != reinterpret_cast<void*>(-1)) {
      EXPECT_EQ(sysv_shmdt(p), 0);
    }
    EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0) << std::strerror(errno);
    const int set = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    ASSERT_GE(set, 0) << std::strerror(errno);
    sembuf up{0, 1, 0};
    EXPECT_EQ(sysv_semop(set, &up, 1), 0) << std::strerror(errno);
    EXPECT_EQ(sysv_semctl(set, 0, IPC_RMID), 0);
  }
  shmid_ds ds{};
  EXPECT_EQ(sysv_shmctl(shm_id, IPC_STAT, &ds), 0) << std::strerror(errno);
  EXPECT_EQ(ds.shm_nattch, 2u) << "ours, and the flood process's (inherited at fork)";

  // A raw newcomer during the flood is served or refused, never left
  // waiting without an answer.
  {
    RawClient newcomer(daemon.dir());
    if (newcomer.ok()) {
      const RawReply reply = newcomer.RoundTrip(core::wire::EncodeRequest<core::wire::Op::kRegister>(
          1, core::wire::RegisterRequest{0, 0}));
      EXPECT_NE(reply.kind, RawReply::Kind::kTimeout) << "a connection was neither served nor refused";
    }
  }

  // The flood ends: nothing leaked, everything works for everyone.
  ASSERT_EQ(write(release[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(flood, &status, 0), flood);
  guard.pid = -1;
  EXPECT_EQ(status, 0);
  ASSERT_EQ(waitpid(daemon.pid(), &status, WNOHANG), 0) << "sysvipcd died";
  // The daemon learns of the closed connections in its own time (their
  // hang-ups are queued with other events); until it has, it still counts
  // them and may refuse a newcomer. Wait for its descriptor count to come
  // back (bounded: 2 s), which is also the leak check.
  int daemon_fds_after = 0;
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(sysv_shmctl(shm_id, IPC_STAT, &ds), 0);
    daemon_fds_after = testing::OpenFdCountOf(daemon.pid());
    if (daemon_fds_after <= daemon_fds_before + 2) break;
    usleep(10000);
  }
  EXPECT_LE(daemon_fds_after, daemon_fds_before + 2) << "descriptors leaked in the daemon";
  EXPECT_EQ(FreshClientWorks(), 0);
  EXPECT_STREQ(shm + 100, "still here");
  EXPECT_EQ(sysv_semctl(sem_id, 0, GETVAL), 3);
  EXPECT_EQ(sysv_shmctl(shm_id, IPC_STAT, &ds), 0);
  EXPECT_EQ(ds.shm_nattch, 1u);

  EXPECT_EQ(sysv_shmdt(shm), 0);
  EXPECT_EQ(sysv_shmctl(shm_id, IPC_RMID, nullptr), 0);
  EXPECT_EQ(sysv_semctl(sem_id, 0, IPC_RMID), 0);
  for (int fd : {ready[0], ready[1], release[0], release[1]}) close(fd);
}

INSTANTIATE_TEST_SUITE_P(EventLoops, ConnectionFloodTest, SYSV_BACKEND_EVENT_LOOPS, ::sysv::testing::EventLoopTestName);

}  // namespace
}  // namespace sysv

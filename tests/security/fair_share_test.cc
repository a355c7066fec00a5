// Fair shares of the daemon (issue #12, section 6): what one user does to
// exhaust the daemon's resources stays within his share, and the others are
// served.
//  - Connections: B holds more idle connections than his share (the daemon
//    runs with a small RLIMIT_NOFILE, so that its whole connection limit is
//    within reach). Before: the daemon's limit was global and B took it all;
//    A's shmget then failed with EPIPE, and B's excess connections were
//    reset. Now B's excess connections get a refusal saying EAGAIN, and A is
//    served.
//  - Process records: B's registered processes are limited the same way.
//  - Daemon-side waits: B, with read permission on A's set, sends thousands
//    of wait-for-zero requests from one thread. Before: every one was queued
//    until the set had no room, and A's blocking semop failed with ENOMEM.
//    Now a thread has at most one pending wait, as in the kernel.
//  - SHM_LOCK: a raw request claiming an unlimited RLIMIT_MEMLOCK from B,
//    whose limit is 0 (or one page). Before: the daemon believed the claim
//    and locked. Now it reads B's limit itself and fails as the kernel's
//    shmctl(SHM_LOCK) does under the same limit.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::Identity;
using testing::RawClient;
using testing::RawReply;
using testing::RunAs;
using testing::User;

const Identity kAlice = User("alice", 2410, 2410);
const Identity kBob = User("bob", 2411, 2411);
constexpr key_t kAliceSetKey = 0x24100001;

// The daemon's soft RLIMIT_NOFILE in the connection tests: its connection
// limit is then within reach of one user's RLIMIT_NOFILE.
constexpr rlim_t kDaemonFdLimit = 256;

bool WriteInt(int fd, int value) { return write(fd, &value, sizeof(value)) == sizeof(value); }
bool ReadInt(int fd, int* value, int timeout_ms = 60000) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return false;
  return read(fd, value, sizeof(*value)) == sizeof(*value);
}

int Wait(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A background attacker: runs `body` as `who` in a child, which reports
// through `ready` and holds on (Hold(), in it and in any process it forks)
// until released; ended (released and waited for) on every path.
class Attacker {
 public:
  Attacker() {
    (void)!pipe2(ready_, O_CLOEXEC);
    (void)!pipe2(release_, O_CLOEXEC);
  }
  void Start(const Identity& who, std::function<int()> body) {
    pid_ = fork();
    if (pid_ == 0) {
      // Only the test holds the release pipe's write end: closing it (EOF)
      // releases every process of the attacker at once.
      close(release_[1]);
      _exit(RunAs(who, body));
    }
  }
  int ready() const { return ready_[1]; }
  bool Read(int* value) const { return ReadInt(ready_[0], value); }
  // In the attacker: waits until released.
  void Hold() const {
    int unused = 0;
    ReadInt(release_[0], &unused, 120000);
  }
  int Release() {
    close(release_[1]);
    release_[1] = -1;
    const int status = Wait(pid_);
    pid_ = -1;
    return status;
  }
  ~Attacker() {
    if (pid_ > 0) Release();
    for (int fd : {ready_[0], ready_[1], release_[0], release_[1]}) close(fd);
  }

 private:
  int ready_[2] = {-1, -1};
  int release_[2] = {-1, -1};
  pid_t pid_ = -1;
};

// How each of a user's connections was answered: served, refused with an
// errno in a message, or closed without a word.
struct ConnectionCensus {
  int served = 0;
  int refused = 0;
  int refusal_errno = 0;
  int closed = 0;
};

// Sends an unregistered request (answered with EPROTO when served) on a
// fresh connection and classifies the answer. A refused connection may be
// closed before the request goes out (EPIPE); its refusal is still queued.
void Classify(RawClient& client, ConnectionCensus& census) {
  (void)client.Send(wire::EncodeRequest<wire::Op::kShmGet>(1, wire::ShmGetRequest{}));
  RawReply reply = client.Receive(5000);
  // A socket closed with our request unread reads as a reset first, then
  // as what was sent before the close (what libsysv's Register does too).
  if (reply.kind == RawReply::Kind::kError && reply.error == ECONNRESET) reply = client.Receive(5000);
  const std::optional<int> status = reply.Status();
  if (reply.kind != RawReply::Kind::kMessage || !status.has_value()) {
    ++census.closed;
  } else if (*status == EPROTO) {
    ++census.served;
  } else {
    ++census.refused;
    census.refusal_errno = *status;
  }
}

class FairShareTest : public ::testing::Test {
 protected:
  // `fd_limit`: the daemon's soft RLIMIT_NOFILE (0: as inherited).
  void StartDaemon(rlim_t fd_limit) {
    dir_ = testing::FreshNamespaceDir("share");
    ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
    std::vector<std::string> flags;
    if (fd_limit != 0) flags.push_back("--raise_fd_limit=false");
    daemon_ = std::make_unique<testing::TestDaemon>(dir_, flags);
    rlimit saved{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit lowered = saved;
    if (fd_limit != 0) lowered.rlim_cur = std::min(fd_limit, saved.rlim_cur);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
    daemon_->Start();
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  }

  std::string dir_;
  std::unique_ptr<testing::TestDaemon> daemon_;
};

TEST_F(FairShareTest, IdleConnectionsOfOneUserLeaveOthersServed) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon(kDaemonFdLimit);
  if (HasFatalFailure()) return;
  // B holds as many connections as the daemon has descriptors, and more.
  constexpr int kHeld = static_cast<int>(kDaemonFdLimit) + 44;
  Attacker bob;
  bob.Start(kBob, [&] {
    std::vector<std::unique_ptr<RawClient>> held;
    ConnectionCensus census;
    for (int i = 0; i < kHeld; ++i) {
      auto client = std::make_unique<RawClient>(dir_);
      if (!client->ok()) {
        ++census.closed;
        std::fprintf(stderr, "connect: %s\n", std::strerror(client->connect_error()));
        continue;
      }
      Classify(*client, census);
      held.push_back(std::move(client));
    }
    for (int value : {census.served, census.refused, census.refusal_errno, census.closed}) {
      WriteInt(bob.ready(), value);
    }
    bob.Hold();
    return 0;
  });
  ConnectionCensus census;
  for (int* value : {&census.served, &census.refused, &census.refusal_errno, &census.closed}) {
    ASSERT_TRUE(bob.Read(value));
  }
  std::printf("B's %d connections: %d served, %d refused (errno %d), %d closed without a word\n", kHeld,
              census.served, census.refused, census.refusal_errno, census.closed);
  EXPECT_EQ(census.closed, 0) << "connections beyond B's share were reset instead of refused";
  EXPECT_GT(census.refused, 0);
  EXPECT_EQ(census.refusal_errno, EAGAIN);

  // While B holds them: A, a new process of another user, is served.
  const int alice = RunAs(kAlice, [] {
    const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) return errno;
    return sysv_shmctl(id, IPC_RMID, nullptr) == 0 ? 0 : 200;
  });
  EXPECT_EQ(alice, 0) << "A's shmget failed: " << std::strerror(alice);

  // And a new process of B's, through libsysv, fails with that errno (and a
  // one-line message on stderr), not EPIPE.
  const int more = RunAs(kBob, [] {
    const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    return id < 0 ? errno : 0;
  });
  EXPECT_EQ(more, EAGAIN) << std::strerror(more);
  EXPECT_EQ(bob.Release(), 0);
}

TEST_F(FairShareTest, ProcessRecordsOfOneUserLeaveOthersServed) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon(kDaemonFdLimit);
  if (HasFatalFailure()) return;
  // B's processes each register, hang up, and stay alive: each keeps a
  // process record (a pidfd and a ledger in the daemon).
  constexpr int kProcesses = static_cast<int>(kDaemonFdLimit) / 2;
  Attacker bob;
  bob.Start(kBob, [&] {
    int registered[2];
    if (pipe(registered) != 0) return 1;
    std::vector<pid_t> children;
    int refused = 0, refusal_errno = 0;
    for (int i = 0; i < kProcesses; ++i) {
      const pid_t child = fork();
      if (child == 0) {
        int result = EPROTO;
        {
          RawClient client(dir_);
          if (client.ok()) result = client.Register();
        }
        WriteInt(registered[1], result);
        bob.Hold();
        _exit(0);
      }
      if (child < 0) break;
      children.push_back(child);
      int result = 0;
      if (!ReadInt(registered[0], &result)) return 2;
      if (result != 0) {
        ++refused;
        refusal_errno = result;
      }
    }
    WriteInt(bob.ready(), refused);
    WriteInt(bob.ready(), refusal_errno);
    bob.Hold();
    for (pid_t child : children) waitpid(child, nullptr, 0);
    return 0;
  });
  int refused = 0, refusal_errno = 0;
  ASSERT_TRUE(bob.Read(&refused));
  ASSERT_TRUE(bob.Read(&refusal_errno));
  std::printf("B's %d registered processes: %d refused (errno %d)\n", kProcesses, refused, refusal_errno);
  EXPECT_GT(refused, 0);
  EXPECT_EQ(refusal_errno, EAGAIN);
  const int alice = RunAs(kAlice, [] {
    const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) return errno;
    void* p = sysv_shmat(id, nullptr, 0);
    if (p == reinterpret_cast<void*>(-1)) return errno;
    return sysv_shmdt(p) == 0 && sysv_shmctl(id, IPC_RMID, nullptr) == 0 ? 0 : 200;
  });
  EXPECT_EQ(alice, 0) << "A was not served: " << std::strerror(alice);
  EXPECT_EQ(bob.Release(), 0);
}

TEST_F(FairShareTest, OneThreadHasAtMostOnePendingDaemonSideWait) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon(0);
  if (HasFatalFailure()) return;
  // A's set, readable by all, at 1: a wait for zero sleeps.
  ASSERT_EQ(RunAs(kAlice, [] {
              const int id = sysv_semget(kAliceSetKey, 1, IPC_CREAT | IPC_EXCL | 0644);
              return id >= 0 && sysv_semctl(id, 0, SETVAL, 1) == 0 ? 0 : 1;
            }),
            0);
  const int set = sysv_semget(kAliceSetKey, 0, 0);
  ASSERT_GE(set, 0);

  constexpr int kRequests = 5000;
  Attacker bob;
  bob.Start(kBob, [&] {
    RawClient client(dir_);
    if (!client.ok() || client.Register() != 0) return 1;
    int queued = 0;
    wire::SemWaitZeroRequest request{};
    request.id = set;
    request.nsops = 1;
    request.tid = static_cast<int32_t>(syscall(SYS_gettid));
    request.sops[0] = wire::WireSemOp{0, 0, 0};
    for (int i = 0; i < kRequests; ++i) {
      const RawReply reply = client.Call<wire::Op::kSemWaitZero>(request);
      auto body = testing::DecodeRawReply<wire::Op::kSemWaitZero>(reply, client.last_request_id());
      if (body && body->queued) ++queued;
    }
    // A thread that is not B's (A's set's creator is not even ours).
    request.tid = 1;
    const RawReply foreign = client.Call<wire::Op::kSemWaitZero>(request);
    auto refused = testing::DecodeRawReply<wire::Op::kSemWaitZero>(foreign, client.last_request_id());
    const int foreign_result = !refused ? -1 : refused->queued ? 0 : refused->status.error;
    WriteInt(bob.ready(), queued);
    WriteInt(bob.ready(), foreign_result);
    bob.Hold();
    return 0;
  });
  int queued = 0, foreign_result = 0;
  ASSERT_TRUE(bob.Read(&queued));
  ASSERT_TRUE(bob.Read(&foreign_result));
  std::printf("B's %d wait-for-zero requests from one thread: %d queued\n", kRequests, queued);
  EXPECT_NE(foreign_result, 0) << "a wait was queued for a thread that is not the caller's";
  EXPECT_EQ(sysv_semctl(set, 0, GETZCNT), 1) << "waits pending for B's one thread";

  // A's blocking semop on her own set still sleeps (and times out).
  const int alice = RunAs(kAlice, [&] {
    sembuf down{0, -2, 0};
    const timespec timeout{0, 200 * 1000 * 1000};
    if (sysv_semtimedop(set, &down, 1, &timeout) == 0) return 200;
    return errno;
  });
  EXPECT_EQ(alice, EAGAIN) << "A's semop: " << std::strerror(alice);
  EXPECT_EQ(bob.Release(), 0);
  // B's process is gone: so are its waits (the daemon learns of the exit in
  // its own time).
  int zcnt = -1;
  for (int i = 0; i < 200 && (zcnt = sysv_semctl(set, 0, GETZCNT)) != 0; ++i) usleep(10000);
  EXPECT_EQ(zcnt, 0);
  EXPECT_EQ(sysv_semctl(set, 0, IPC_RMID), 0);
}

// SHM_LOCK of B's own segment by a raw request claiming an unlimited
// RLIMIT_MEMLOCK, under B's real limit `limit`. Reports, through `out`, the
// errno of the kernel's shmctl(SHM_LOCK) under the same limit and the
// daemon's; returns 0, or the number of the setup step that failed.
int LockWithForgedLimit(const std::string& dir, rlim_t limit, int out) {
  return RunAs(kBob, [&] {
    const rlimit memlock{limit, limit};
    if (setrlimit(RLIMIT_MEMLOCK, &memlock) != 0) return 1;
    const int kernel_id = ::shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
    if (kernel_id < 0) return 2;
    const int kernel = ::shmctl(kernel_id, SHM_LOCK, nullptr) == 0 ? 0 : errno;
    ::shmctl(kernel_id, IPC_RMID, nullptr);
    RawClient client(dir);
    if (!client.ok() || client.Register() != 0) return 3;
    const RawReply got = client.Call<wire::Op::kShmGet>(wire::ShmGetRequest{IPC_PRIVATE, IPC_CREAT | 0600, 65536});
    auto created = testing::DecodeRawReply<wire::Op::kShmGet>(got, client.last_request_id());
    if (!created || created->status.error != 0) return 4;
    wire::ShmCtlRequest lock{};
    lock.id = created->id;
    lock.cmd = SHM_LOCK;
    lock.memlock_limit = UINT64_MAX;  // the forged claim
    const std::optional<int> ours = client.Call<wire::Op::kShmCtl>(lock).Status();
    wire::ShmCtlRequest rm{};
    rm.id = created->id;
    rm.cmd = IPC_RMID;
    (void)client.Call<wire::Op::kShmCtl>(rm);
    if (!ours.has_value()) return 5;
    return WriteInt(out, kernel) && WriteInt(out, *ours) ? 0 : 6;
  });
}

TEST_F(FairShareTest, ShmLockUsesTheCallersRealMemlockLimit) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon(0);
  if (HasFatalFailure()) return;
  int results[2];
  ASSERT_EQ(pipe(results), 0);
  for (rlim_t limit : {rlim_t{0}, rlim_t{4096}}) {
    SCOPED_TRACE(limit);
    ASSERT_EQ(LockWithForgedLimit(dir_, limit, results[1]), 0) << "setup failed";
    int kernel = -1, ours = -1;
    ASSERT_TRUE(ReadInt(results[0], &kernel));
    ASSERT_TRUE(ReadInt(results[0], &ours));
    std::printf("SHM_LOCK of 64 KiB under RLIMIT_MEMLOCK %d: kernel %s, daemon %s\n", static_cast<int>(limit),
                kernel == 0 ? "0" : strerrorname_np(kernel), ours == 0 ? "0" : strerrorname_np(ours));
    EXPECT_NE(kernel, 0);
    EXPECT_EQ(ours, kernel);
  }
  close(results[0]);
  close(results[1]);
}

}  // namespace
}  // namespace sysv

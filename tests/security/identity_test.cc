// Identity by pid (issue #12, section 5): a channel belongs to the process
// instance that connected, not to whichever process later holds its pid.
//
// The attack: user B's process C connects, forks a grandchild G that keeps
// the socket, and exits. The test (root) then makes a process of user A's
// reuse C's pid (writing /proc/sys/kernel/ns_last_pid, retried until the pid
// is had: other processes on the machine may take it first) and attach A's
// segment, which registers A's process under that pid. G then registers on
// its stale channel. Before the fix the daemon handed G A's attach ledger
// read-write (G zeroed it, and A's IPC_STAT said nattch 0). Now the channel
// is closed when C dies, and a record is never handed to a connection of
// another process instance: G is refused, A's nattch stays 1.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RawClient;
using testing::RawReply;
using testing::RunAs;
using testing::User;

constexpr uid_t kVictim = 2400;
constexpr uid_t kAttacker = 2401;
constexpr key_t kVictimKey = 0x24000001;

// What G reports: 0 = it registered (and zeroed the ledger it was given);
// otherwise the errno of the refusal, or kChannelClosed.
constexpr int kChannelClosed = -1;

bool WriteInt(int fd, int value) { return write(fd, &value, sizeof(value)) == sizeof(value); }
bool ReadInt(int fd, int* value, int timeout_ms = 20000) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return false;
  return read(fd, value, sizeof(*value)) == sizeof(*value);
}

// The grandchild's part: wait for `go`, register on the inherited channel,
// and if given a ledger, zero it (what the attacker did); report to `result`.
[[noreturn]] void StaleChannelAttack(RawClient& client, int go, int result) {
  int unused = 0;
  if (!ReadInt(go, &unused, 60000)) _exit(1);
  const RawReply reply =
      client.RoundTrip(wire::EncodeRequest<wire::Op::kRegister>(7, wire::RegisterRequest{0, 0}));
  int outcome = kChannelClosed;
  if (reply.kind == RawReply::Kind::kMessage) {
    const std::optional<int> status = reply.Status();
    outcome = status.value_or(EPROTO);
    if (outcome == 0 && reply.fds.size() >= 2) {
      struct stat st{};
      if (fstat(reply.fds[1], &st) == 0) {
        const std::vector<char> zeros(static_cast<size_t>(st.st_size), 0);
        (void)!pwrite(reply.fds[1], zeros.data(), zeros.size(), 0);
      }
    }
  }
  WriteInt(result, outcome);
  _exit(0);
}

// Forks a child whose pid is `target` (as root, through ns_last_pid) and runs
// `body` in it; returns its pid, or -1 if the pid could not be had.
pid_t ForkAtPid(pid_t target, const std::function<int()>& body) {
  for (int attempt = 0; attempt < 5000; ++attempt) {
    const int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    const std::string last = absl::StrCat(target - 1);
    const bool written = write(fd, last.data(), last.size()) == static_cast<ssize_t>(last.size());
    close(fd);
    if (!written) return -1;
    const pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      if (getpid() != target) _exit(0);
      _exit(body());
    }
    if (pid == target) return pid;
    waitpid(pid, nullptr, 0);
  }
  return -1;
}

class IdentityTest : public testing::SharedNamespaceTest {
 protected:
  IdentityTest() : SharedNamespaceTest("identity") {}
};

TEST_F(IdentityTest, StaleChannelOfAReusedPidGetsNoRecord) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  if (access("/proc/sys/kernel/ns_last_pid", W_OK) != 0) GTEST_SKIP() << "ns_last_pid is not writable";
  // A's segment.
  ASSERT_EQ(RunAs(User("alice", kVictim, kVictim), [] {
              return sysv_shmget(kVictimKey, 4096, IPC_CREAT | IPC_EXCL | 0600) >= 0 ? 0 : 1;
            }),
            0);
  const int shm_id = sysv_shmget(kVictimKey, 0, 0);
  ASSERT_GE(shm_id, 0) << std::strerror(errno);

  int pid_pipe[2], go[2], result[2];
  ASSERT_EQ(pipe2(pid_pipe, O_CLOEXEC), 0);
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(result), 0);
  // B: C connects (and is served once, so the daemon has accepted it while
  // C is alive), forks G, reports its pid, exits; B reaps it.
  const int attacker = RunAs(User("bob", kAttacker, kAttacker), [&] {
    const pid_t c = fork();
    if (c == 0) {
      RawClient client(dir_);
      if (!client.ok()) _exit(1);
      // An unregistered request: answered (EPROTO) once the daemon accepted.
      const RawReply served = client.Call<wire::Op::kShmGet>(wire::ShmGetRequest{});
      if (served.kind != RawReply::Kind::kMessage) _exit(2);
      const pid_t g = fork();
      if (g == 0) StaleChannelAttack(client, go[0], result[1]);
      if (g < 0) _exit(3);
      WriteInt(pid_pipe[1], getpid());
      _exit(0);
    }
    int status = 0;
    waitpid(c, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  });
  ASSERT_EQ(attacker, 0);
  int stale_pid = 0;
  ASSERT_TRUE(ReadInt(pid_pipe[0], &stale_pid));

  // A's process takes over the pid and attaches her segment.
  int attached[2], release[2];
  ASSERT_EQ(pipe(attached), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t victim = ForkAtPid(stale_pid, [&] {
    if (setgroups(0, nullptr) != 0 || setresgid(kVictim, kVictim, kVictim) != 0 ||
        setresuid(kVictim, kVictim, kVictim) != 0) {
      return testing::kCannotSwitchIdentity;
    }
    void* p = sysv_shmat(shm_id, nullptr, 0);
    WriteInt(attached[1], p == reinterpret_cast<void*>(-1) ? errno : 0);
    int unused = 0;
    ReadInt(release[0], &unused, 60000);
    return 0;
  });
  if (victim < 0) {
    WriteInt(go[1], 0);  // let G go
    GTEST_SKIP() << "pid " << stale_pid << " could not be reused";
  }
  int attach_error = -1;
  ASSERT_TRUE(ReadInt(attached[0], &attach_error));
  ASSERT_EQ(attach_error, 0) << std::strerror(attach_error);
  shmid_ds ds{};
  ASSERT_EQ(sysv_shmctl(shm_id, IPC_STAT, &ds), 0);
  ASSERT_EQ(ds.shm_nattch, 1u);

  // G registers on the stale channel.
  ASSERT_TRUE(WriteInt(go[1], 1));
  int outcome = 0;
  ASSERT_TRUE(ReadInt(result[0], &outcome));
  EXPECT_NE(outcome, 0) << "the stale channel of pid " << stale_pid << " got A's process record";
  ASSERT_EQ(sysv_shmctl(shm_id, IPC_STAT, &ds), 0);
  EXPECT_EQ(ds.shm_nattch, 1u) << "A's attach ledger was changed through B's stale channel";
  EXPECT_EQ(ds.shm_lpid, stale_pid);

  WriteInt(release[1], 1);
  int status = 0;
  ASSERT_EQ(waitpid(victim, &status, 0), victim);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(sysv_shmctl(shm_id, IPC_RMID, nullptr), 0);
  for (int fd : {pid_pipe[0], pid_pipe[1], go[0], go[1], result[0], result[1], attached[0], attached[1],
                 release[0], release[1]}) {
    close(fd);
  }
}

// The channel of a process that died is closed by the daemon (its pidfd
// became readable), whoever still holds the socket.
TEST_F(IdentityTest, ChannelOfADeadProcessIsClosed) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int status = RunAs(User("bob", kAttacker, kAttacker), [&] {
    int result[2];
    if (pipe(result) != 0) return 1;
    const pid_t c = fork();
    if (c == 0) {
      RawClient client(dir_);
      if (!client.ok() || client.Register() != 0) _exit(1);
      const pid_t g = fork();
      if (g == 0) {
        // Wait for the connecting process to be gone, then for EOF.
        while (getppid() == c) usleep(1000);
        pollfd p{client.fd(), POLLIN, 0};
        const bool closed = poll(&p, 1, 5000) == 1 && client.Receive(0).kind == RawReply::Kind::kEof;
        WriteInt(result[1], closed ? 0 : 1);
        _exit(0);
      }
      _exit(g < 0 ? 2 : 0);
    }
    waitpid(c, nullptr, 0);
    int closed = 1;
    if (!ReadInt(result[0], &closed)) return 3;
    return closed == 0 ? 0 : 4;
  });
  EXPECT_EQ(status, 0) << (status == 4 ? "the channel outlived its process" : "setup failed");
}

}  // namespace
}  // namespace sysv

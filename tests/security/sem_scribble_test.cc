// Semaphore sets, alter user (issue #13, item 2; DESIGN.md "Trust model",
// rule 2): bob (uid 2602) may alter alice's 0666 set, so libsysv hands him a
// read-write descriptor of its region (kSemOpen over the wire). He maps it
// and writes random bytes all over it in a loop: the header, the removal
// mark, the magic and the lock word (random TIDs in this PID namespace:
// holders that do not exist), the values, the arena of queued operations
// and undo records, the redo log.
//
// Meanwhile alice (2601, owner) and carol (2603, also "other") use the set
// through libsysv: semtimedop with and without SEM_UNDO, IPC_NOWAIT
// semop, wait-for-zero, GETVAL, GETALL, IPC_STAT. In the kernel bob could
// only have changed values (semop, SETVAL, SETALL) and waited, so:
//   - no call of alice's or carol's ever fails with EIDRM while the set
//     exists (before the fix: millions did, "removed for everyone");
//   - nobody crashes, nobody hangs (a watchdog kills a child stuck past
//     its deadline, and the test fails);
// and, once bob is gone:
//   - alice's SETALL puts the set back, and a short fixed sequence of
//     calls (values, blocked IPC_NOWAIT, ERANGE, SEM_UNDO at exit, counts)
//     gives exactly the kernel's results (tests/testing/differential.h);
//   - carol's blocked semop is woken by alice's IPC_RMID with EIDRM, after
//     bob stopped, and while he still scribbles (a second test).
// A lock word naming a live holder in another PID namespace is a holder
// the probe cannot see (core/owner_word_mutex.h: treated as alive), which
// bob could equally be by stopping inside semop: the scribbler leaves those
// out, and daemon_stall_test covers them.
//
// SYSV_SCRIBBLE_SECONDS=N makes the scribbling phase longer (default 6).
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/platform.h"
#include "core/owner_word_mutex.h"
#include "core/protocol/wire.h"
#include "core/sem/sem_region.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/differential.h"
#include "tests/testing/sem_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RunAs;
using testing::User;

constexpr uid_t kAlice = 2601;
constexpr uid_t kBob = 2602;
constexpr uid_t kCarol = 2603;
constexpr int kNsems = 4;
// Exit codes of the users' children.
constexpr int kSawEidrm = 30;
constexpr int kUnexpected = 31;
constexpr int kSetupFailed = 32;

int ScribbleSeconds() {
  const char* env = std::getenv("SYSV_SCRIBBLE_SECONDS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 6;
}

bool Expired(std::chrono::steady_clock::time_point deadline) { return std::chrono::steady_clock::now() >= deadline; }

pid_t SpawnAs(const testing::Identity& who, const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(RunAs(who, body));
  return pid;
}

// The child's exit status, or -1 if it is still running at `deadline`
// (then it is killed).
int WaitUntil(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (Expired(deadline)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    usleep(10'000);
  }
}

// What one user's calls returned, by errno (0: success).
struct Tally {
  std::map<int, long> results;
  long eidrm = 0;
  int first_unexpected = 0;

  // Errors the kernel could give these calls on a set whose values an
  // alter user changes at will: timeouts and IPC_NOWAIT (EAGAIN), ERANGE
  // (a value or adjustment at its bound), ENOMEM (no room for an undo
  // record or a queued operation in a scribbled arena).
  void Note(int result, const char* what) {
    const int error = result < 0 ? errno : 0;
    ++results[error];
    if (error == EIDRM) {
      if (eidrm++ == 0) std::fprintf(stderr, "pid %d: %s: EIDRM while the set exists\n", getpid(), what);
    } else if (error != 0 && error != EAGAIN && error != ERANGE && error != ENOMEM && first_unexpected == 0) {
      first_unexpected = error;
      std::fprintf(stderr, "pid %d: %s: %s\n", getpid(), what, std::strerror(error));
    }
  }

  int Exit(const char* who) const {
    std::string line;
    for (const auto& [error, count] : results) {
      line += " " + std::string(error == 0 ? "ok" : strerrorname_np(error)) + "=" + std::to_string(count);
    }
    std::fprintf(stderr, "%s %d:%s\n", who, getpid(), line.c_str());
    if (eidrm != 0) return kSawEidrm;
    return first_unexpected != 0 ? kUnexpected : 0;
  }
};

timespec Millis(int ms) { return timespec{ms / 1000, static_cast<long>(ms % 1000) * 1000000}; }

// alice's and carol's work on the set until the deadline. `undo`: the
// mutex (semaphore 0) is taken with SEM_UNDO.
int UseSet(int id, bool undo, std::chrono::steady_clock::time_point deadline, const char* who) {
  Tally tally;
  const short undo_flag = undo ? SEM_UNDO : 0;
  long rounds = 0;
  while (!Expired(deadline)) {
    timespec wait = Millis(50);
    sembuf lock[] = {{0, -1, undo_flag}, {1, 1, undo_flag}};
    const int locked = sysv_semtimedop(id, lock, 2, &wait);
    tally.Note(locked, "semtimedop(lock)");
    sembuf count{2, 1, IPC_NOWAIT};
    tally.Note(sysv_semop(id, &count, 1), "semop(+1, IPC_NOWAIT)");
    sembuf down{2, -1, IPC_NOWAIT};
    tally.Note(sysv_semop(id, &down, 1), "semop(-1, IPC_NOWAIT)");
    tally.Note(sysv_semctl(id, 1, GETVAL), "semctl(GETVAL)");
    if (locked == 0) {
      sembuf unlock[] = {{1, -1, static_cast<short>(undo_flag | IPC_NOWAIT)},
                         {0, 1, static_cast<short>(undo_flag | IPC_NOWAIT)}};
      tally.Note(sysv_semop(id, unlock, 2), "semop(unlock)");
    }
    wait = Millis(5);
    sembuf zero{3, 0, 0};
    tally.Note(sysv_semtimedop(id, &zero, 1, &wait), "semtimedop(wait for zero)");
    wait = Millis(5);
    sembuf take{3, -1, SEM_UNDO};
    tally.Note(sysv_semtimedop(id, &take, 1, &wait), "semtimedop(3 -1 SEM_UNDO)");
    semid_ds sds{};
    tally.Note(sysv_semctl(id, 0, IPC_STAT, &sds), "semctl(IPC_STAT)");
    unsigned short values[kNsems];
    tally.Note(sysv_semctl(id, 0, GETALL, values), "semctl(GETALL)");
    ++rounds;
  }
  std::fprintf(stderr, "%s: %ld rounds\n", who, rounds);
  return tally.Exit(who);
}

// A lock word naming a thread of this PID namespace that does not run:
// a random TID with a random start time under our namespace's hash.
uint64_t DeadHolderWord(std::mt19937& rng) {
  const uint32_t self_tag = platform::LockOwnerProbe::Self().tag;
  const uint32_t tag = (self_tag & ~platform::LockOwnerProbe::kStartMask) |
                       (rng() & platform::LockOwnerProbe::kStartMask);
  const uint32_t tid = 1 + rng() % (core::OwnerWord::kTidMask - 1);
  return core::OwnerWord::Of(core::LockOwner{tid, tag}) | (rng() % 2 ? core::OwnerWord::kWaiters : 0);
}

// bob: maps the set's region as any client with alter permission gets it,
// and scribbles until told to stop (a byte on `stop_fd`).
int Scribble(const std::string& dir, int id, int stop_fd, uint32_t seed) {
  testing::RawClient client(dir);
  if (!client.ok() || client.Register() != 0) return kSetupFailed;
  testing::RawReply reply = client.Call<wire::Op::kSemOpen>(wire::SemOpenRequest{id, 0});
  if (reply.fds.size() != 1) return kSetupFailed;
  struct stat st{};
  if (fstat(reply.fds[0], &st) != 0 || st.st_size <= 0) return kSetupFailed;
  const size_t size = static_cast<size_t>(st.st_size);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, reply.fds[0], 0);
  if (base == MAP_FAILED) return kSetupFailed;
  auto* bytes = static_cast<unsigned char*>(base);
  const size_t lock_at = offsetof(core::SemRegionHeader, lock);
  std::mt19937 rng(seed);
  long writes = 0;
  for (;;) {
    pollfd p{stop_fd, POLLIN, 0};
    if (poll(&p, 1, 0) != 0) break;
    for (int k = 0; k < 16; ++k) {
      const uint32_t choice = rng() % 16;
      if (choice == 0) {
        // The lock word: free, a dead holder, or "not recoverable".
        const uint64_t words[] = {0, DeadHolderWord(rng), core::OwnerWord::kTidNotRecoverable};
        __atomic_store_n(reinterpret_cast<uint64_t*>(bytes + lock_at), words[rng() % 3], __ATOMIC_RELEASE);
      } else if (choice == 1) {
        // Somewhere in the lock's storage but its word (the magic, ...).
        bytes[lock_at + 8 + rng() % 56] = static_cast<unsigned char>(rng());
      } else {
        // Anywhere else, mostly the header, the values and the first blocks.
        size_t at = choice < 12 ? rng() % std::min<size_t>(size, 12 * 1024) : rng() % size;
        if (at >= lock_at && at < lock_at + 8) at = lock_at + 8;
        bytes[at] = static_cast<unsigned char>(rng());
      }
      ++writes;
    }
    usleep(100 + rng() % 400);
  }
  std::fprintf(stderr, "bob: %ld random writes\n", writes);
  return 0;
}

// A fixed sequence of calls whose results the kernel fixes, on a set of
// kNsems semaphores holding [1, 0, 0, 0].
void Sequence(const testing::SemApi& api, int id, testing::TraceWriter& out) {
  int step = 0;
  auto line = [&](const std::string& what, long result) {
    const std::string text = result < 0 ? std::string("-1 ") + strerrorname_np(errno) : std::to_string(result);
    out.Line(step++, what + " = " + text);
  };
  unsigned short values[kNsems] = {};
  auto all = [&](const char* what) {
    const int r = api.semctl(id, 0, GETALL, values);
    std::string text = what;
    for (unsigned short v : values) text += " " + std::to_string(v);
    line(text, r);
  };
  all("GETALL");
  sembuf a[] = {{0, -1, 0}, {1, 2, SEM_UNDO}};
  line("semop(0 -1, 1 +2 undo)", api.semop(id, a, 2));
  sembuf b{0, -1, IPC_NOWAIT};
  line("semop(0 -1 nowait)", api.semop(id, &b, 1));
  sembuf c{3, 0, IPC_NOWAIT};
  line("semop(3 0 nowait)", api.semop(id, &c, 1));
  line("SETVAL 2 32767", api.semctl(id, 2, SETVAL, 32767));
  sembuf d{2, 1, 0};
  line("semop(2 +1)", api.semop(id, &d, 1));
  sembuf e{2, -32767, SEM_UNDO};
  line("semop(2 -32767 undo)", api.semop(id, &e, 1));
  all("GETALL");
  // A child's SEM_UNDO is undone when it exits.
  const pid_t child = fork();
  if (child == 0) {
    sembuf up[] = {{3, 5, SEM_UNDO}, {1, -1, SEM_UNDO}};
    _exit(api.semop(id, up, 2) == 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  line("child exited", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  // The daemon applies a libsysv child's undo when it learns of the exit.
  for (int i = 0; i < 200 && api.semctl(id, 3, GETVAL) != 0; ++i) usleep(10'000);
  all("GETALL");
  timespec brief = Millis(20);
  sembuf f{3, -1, 0};
  line("semtimedop(3 -1, 20 ms)", api.semtimedop(id, &f, 1, &brief));
  line("GETNCNT 3", api.semctl(id, 3, GETNCNT));
  line("GETZCNT 0", api.semctl(id, 0, GETZCNT));
  const unsigned short reset[kNsems] = {7, 0, 9, 0};
  line("SETALL 7 0 9 0", api.semctl(id, 0, SETALL, reset));
  sembuf g[] = {{0, -7, 0}, {2, -9, 0}, {1, 0, 0}};
  line("semop(0 -7, 2 -9, 1 0)", api.semop(id, g, 3));
  all("GETALL");
}

std::vector<std::string> TraceOf(const testing::SemApi& api, int id) {
  return testing::TraceInChild(
      api.name, [] { return true; }, [&](testing::TraceWriter& out) { Sequence(api, id, out); });
}

class SemScribbleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    daemon_ = std::make_unique<testing::TestDaemon>(testing::FreshNamespaceDir("semscribble"));
    daemon_->Start();
    ASSERT_EQ(chmod(daemon_->dir().c_str(), 0755), 0);  // other users reach the socket
  }

  std::unique_ptr<testing::TestDaemon> daemon_;
};

TEST_F(SemScribbleTest, AlterUserScribblesButCannotRemoveTheSet) {
  const testing::Identity alice = User("alice", kAlice, kAlice);
  const testing::Identity bob = User("bob", kBob, kBob);
  const testing::Identity carol = User("carol", kCarol, kCarol);

  // alice's 0666 set, [1, 0, 0, 0].
  const int id = testing::RunAsForValue(alice, [] {
    const int id = sysv_semget(IPC_PRIVATE, kNsems, IPC_CREAT | 0666);
    const unsigned short init[kNsems] = {1, 0, 0, 0};
    return id >= 0 && sysv_semctl(id, 0, SETALL, init) == 0 ? id : -1;
  });
  ASSERT_GE(id, 0);

  int stop[2];
  ASSERT_EQ(pipe(stop), 0);
  const std::string dir = daemon_->dir();
  const pid_t scribbler = SpawnAs(bob, [&] {
    close(stop[1]);
    return Scribble(dir, id, stop[0], 1313);
  });
  close(stop[0]);

  const auto work_end = std::chrono::steady_clock::now() + std::chrono::seconds(ScribbleSeconds());
  // Past this, a child is stuck: killed, and the test fails.
  const auto watchdog = work_end + std::chrono::seconds(20);
  const pid_t alice_worker = SpawnAs(alice, [&] { return UseSet(id, /*undo=*/true, work_end, "alice"); });
  const pid_t carol_worker = SpawnAs(carol, [&] { return UseSet(id, /*undo=*/false, work_end, "carol"); });
  EXPECT_EQ(WaitUntil(alice_worker, watchdog), 0) << "alice (30: saw EIDRM, 31: another error, -1: hung)";
  EXPECT_EQ(WaitUntil(carol_worker, watchdog), 0) << "carol (30: saw EIDRM, 31: another error, -1: hung)";
  // A byte, not EOF: the RunAs parent of bob's child holds the write end too.
  ASSERT_EQ(write(stop[1], "x", 1), 1);
  close(stop[1]);
  EXPECT_EQ(WaitUntil(scribbler, watchdog), 0) << "bob";

  // bob is gone: alice puts the set back, and it behaves as the kernel's.
  const auto after = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const pid_t reset = SpawnAs(alice, [&] {
    const unsigned short init[kNsems] = {1, 0, 0, 0};
    return sysv_semctl(id, 0, SETALL, init) == 0 ? 0 : errno;
  });
  ASSERT_EQ(WaitUntil(reset, after), 0) << "alice's SETALL after the scribbling";

  std::vector<std::string> kernel;
  {
    const int kernel_id = testing::KernelSem().semget(IPC_PRIVATE, kNsems, IPC_CREAT | 0600);
    ASSERT_GE(kernel_id, 0) << std::strerror(errno);
    const unsigned short init[kNsems] = {1, 0, 0, 0};
    ASSERT_EQ(testing::KernelSem().semctl(kernel_id, 0, SETALL, init), 0);
    kernel = TraceOf(testing::KernelSem(), kernel_id);
    testing::KernelSem().semctl(kernel_id, 0, IPC_RMID);
  }
  const std::vector<std::string> libsysv = TraceOf(testing::LibsysvSem(), id);
  testing::ExpectSameTraces(kernel, libsysv, "sem_scribble");

  // carol sleeps on the set; alice's IPC_RMID wakes her with EIDRM.
  int result_pipe[2];
  ASSERT_EQ(pipe(result_pipe), 0);
  const pid_t sleeper = SpawnAs(carol, [&] {
    sembuf wait{3, -1, 0};
    const int r = sysv_semop(id, &wait, 1);
    const int error = r == 0 ? 0 : errno;
    return write(result_pipe[1], &error, sizeof(error)) == sizeof(error) ? 0 : 1;
  });
  const pid_t remover = SpawnAs(alice, [&] {
    for (int i = 0; i < 500 && sysv_semctl(id, 3, GETNCNT) != 1; ++i) usleep(10'000);
    if (sysv_semctl(id, 3, GETNCNT) != 1) return 1;
    return sysv_semctl(id, 0, IPC_RMID) == 0 ? 0 : 2;
  });
  EXPECT_EQ(WaitUntil(remover, after), 0) << "alice's IPC_RMID (1: carol never slept)";
  EXPECT_EQ(WaitUntil(sleeper, after), 0);
  int error = -1;
  close(result_pipe[1]);
  EXPECT_EQ(read(result_pipe[0], &error, sizeof(error)), static_cast<ssize_t>(sizeof(error)));
  close(result_pipe[0]);
  EXPECT_EQ(error, EIDRM) << strerrorname_np(error);
}

// While bob still scribbles, carol sleeps on alice's set (again and again:
// a scribbled value may let her operation through) and alice removes it:
// the removal is not bob's to stop, and it ends carol's sleep with EIDRM.
TEST_F(SemScribbleTest, OwnersRemovalWhileScribblingWakesSleepersWithEidrm) {
  const testing::Identity alice = User("alice", kAlice, kAlice);
  const testing::Identity bob = User("bob", kBob, kBob);
  const testing::Identity carol = User("carol", kCarol, kCarol);
  const int id = testing::RunAsForValue(alice, [] { return sysv_semget(IPC_PRIVATE, kNsems, IPC_CREAT | 0666); });
  ASSERT_GE(id, 0);

  int stop[2];
  ASSERT_EQ(pipe(stop), 0);
  const std::string dir = daemon_->dir();
  const pid_t scribbler = SpawnAs(bob, [&] { return Scribble(dir, id, stop[0], 4242); });
  int result_pipe[2];
  ASSERT_EQ(pipe(result_pipe), 0);
  const pid_t sleeper = SpawnAs(carol, [&] {
    // Sleeps until an error ends it; errors a scribbled set may give go on.
    for (;;) {
      sembuf wait[] = {{3, -32767, 0}, {2, -32767, 0}};
      if (sysv_semop(id, wait, 2) == 0) continue;
      if (errno == ERANGE || errno == ENOMEM || errno == EAGAIN) continue;
      const int error = errno;
      return write(result_pipe[1], &error, sizeof(error)) == sizeof(error) ? 0 : 1;
    }
  });
  sleep(2);  // carol sleeps, bob scribbles
  pollfd early{result_pipe[0], POLLIN, 0};
  EXPECT_EQ(poll(&early, 1, 0), 0) << "carol's sleep ended before anyone removed the set";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const pid_t remover = SpawnAs(alice, [&] { return sysv_semctl(id, 0, IPC_RMID) == 0 ? 0 : errno; });
  EXPECT_EQ(WaitUntil(remover, deadline), 0) << "alice's IPC_RMID while bob scribbles";
  EXPECT_EQ(WaitUntil(sleeper, deadline), 0) << "carol (-1: still asleep after the removal)";
  close(result_pipe[1]);
  int error = -1;
  EXPECT_EQ(read(result_pipe[0], &error, sizeof(error)), static_cast<ssize_t>(sizeof(error)));
  close(result_pipe[0]);
  EXPECT_EQ(error, EIDRM) << strerrorname_np(error);
  ASSERT_EQ(write(stop[1], "x", 1), 1);
  close(stop[1]);
  close(stop[0]);
  EXPECT_EQ(WaitUntil(scribbler, deadline), 0) << "bob";
}

}  // namespace
}  // namespace sysv

// Stalling the daemon for everyone (issue #12, section 3; DESIGN.md "Trust
// model", rule 5), as real users against a real sysvipcd.
//
// Forged locks: mallory (uid 2301) forges the lock word of his own 0600 set
// or queue (naming a live process of his, or a holder in another PID
// namespace, which the owner probe cannot see and so must treat as alive),
// then lets 100 of his registered processes exit, each leaving exit work on
// that object (SEM_UNDO adjustments, queue waiter records). alice (uid 2302)
// then creates a set, a segment and a queue: each call must be answered
// while mallory's lock is still held (a watchdog of several seconds is the
// only clock here), and the postponed work must be done once he lets go.
//
// A dead holder (a word naming an exited process of his) is taken over by
// the daemon at once, and the work done without him letting go.
//
// A stopped holder: carol (uid 2303) really holds the lock of her 0646 set
// or 0666 queue (the region mutex, taken as libsysv takes it) and is
// SIGSTOPped. alice's calls on it behave as blocked calls (IPC_NOWAIT gives
// EAGAIN, or ENOMSG for msgrcv; a signal gives EINTR; semtimedop's timeout
// gives EAGAIN; never EIDRM), and a blocking one completes after SIGCONT.
// dora (uid 2304, carol's group: read-only on the set) asks the daemon for a
// value meanwhile: her answer waits for the lock, the daemon keeps serving
// alice.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/platform.h"
#include "core/msg/msg_region.h"
#include "core/owner_word_mutex.h"
#include "core/protocol/wire.h"
#include "core/sem/sem_region.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/process_state.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using platform::LockOwnerProbe;
using platform::RegionMutex;
using testing::RunAs;
using testing::User;

constexpr uid_t kMallory = 2301;
constexpr uid_t kAlice = 2302;
constexpr uid_t kCarol = 2303;
constexpr uid_t kDora = 2304;
constexpr int kExits = 100;
// Liveness bounds, not measurements: a healthy daemon answers in
// milliseconds; the unfixed one took 50 ms per postponed exit per request.
constexpr unsigned kWatchdogSeconds = 5;
constexpr int kSettleSeconds = 30;

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == 0) {
      r = fds[0];
      w = fds[1];
    }
  }
  ~Pipe() { CloseBoth(); }
  void CloseBoth() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
    r = w = -1;
  }
  void CloseWrite() {
    if (w >= 0) close(w);
    w = -1;
  }
  bool Put(int value) const { return write(w, &value, sizeof(value)) == sizeof(value); }
  // One int, or -1 after `seconds` or at EOF.
  int Get(int seconds = kSettleSeconds) const {
    struct pollfd p = {r, POLLIN, 0};
    if (poll(&p, 1, seconds * 1000) != 1) return -1;
    int value = -1;
    return read(r, &value, sizeof(value)) == sizeof(value) ? value : -1;
  }
};

// Runs RunAs(who, body) in a child of its own, so that the test can go on
// meanwhile; the child's exit status is RunAs's.
pid_t SpawnAs(const testing::Identity& who, const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(RunAs(who, body));
  return pid;
}

int WaitStatus(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The region of a set or queue, mapped as any client with write permission
// maps it (the grant of kSemOpen or kMsgOpen over the wire).
template <wire::Op kOp, typename Request>
unsigned char* MapGrant(testing::RawClient& client, const Request& request) {
  testing::RawReply reply = client.Call<kOp>(request);
  if (reply.fds.size() != 1) return nullptr;
  struct stat st{};
  if (fstat(reply.fds[0], &st) != 0 || st.st_size <= 0) return nullptr;
  void* base = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, reply.fds[0], 0);
  return base == MAP_FAILED ? nullptr : static_cast<unsigned char*>(base);
}

unsigned char* MapSet(testing::RawClient& client, int id) {
  return MapGrant<wire::Op::kSemOpen>(client, wire::SemOpenRequest{id, 0});
}
unsigned char* MapQueue(testing::RawClient& client, int id) {
  return MapGrant<wire::Op::kMsgOpen>(client, wire::MsgOpenRequest{id, 0});
}

uint64_t* LockWord(unsigned char* lock) { return reinterpret_cast<uint64_t*>(lock); }

enum class Forgery { kLiveProcess, kForeignNamespace, kDeadProcess };

// What mallory writes into a lock word: his own live identity, a thread in
// a PID namespace whose hash is not ours (the probe answers "unknown"), or
// the identity of a child of his that has exited (a holder that died: the
// daemon must take its lock over, as it did before, and do the work without
// waiting for anyone).
uint64_t ForgedWord(Forgery forgery) {
  const core::LockOwner self = LockOwnerProbe::Self();
  if (forgery == Forgery::kLiveProcess) return core::OwnerWord::Of(self);
  if (forgery == Forgery::kForeignNamespace) {
    const uint32_t foreign = self.tag ^ (uint32_t{0xfff} << LockOwnerProbe::kStartBits);
    return core::OwnerWord::Of(core::LockOwner{1, foreign});
  }
  Pipe identity;
  const pid_t child = fork();
  if (child == 0) {
    const core::LockOwner owner = LockOwnerProbe::Self();
    identity.Put(static_cast<int>(owner.tid));
    identity.Put(static_cast<int>(owner.tag));
    _exit(0);
  }
  const int tid = identity.Get();
  const int tag = identity.Get();
  WaitStatus(child);
  return core::OwnerWord::Of(core::LockOwner{static_cast<uint32_t>(tid), static_cast<uint32_t>(tag)});
}

// Semaphore 0's value, read from the region without its lock, so that only
// the daemon's work can have changed it.
int RawValue(unsigned char* region) {
  const auto* header = reinterpret_cast<core::SemRegionHeader*>(region);
  const auto* slots = reinterpret_cast<core::SemSlot*>(region + header->slots_offset.load());
  return core::SemWordValue(slots[0].word.load());
}

struct Message {
  long mtype;
  char mtext[16];
};

// alice's unrelated requests, under a watchdog that kills her child if the
// daemon does not answer them all in time.
int AliceCreatesObjects() {
  return RunAs(User("alice", kAlice, kAlice), [] {
    alarm(kWatchdogSeconds);
    const auto start = std::chrono::steady_clock::now();
    const int set = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    const int segment = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    const int queue = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "alice: semget+shmget+msgget took %.1f ms\n", ms);
    if (set < 0 || segment < 0 || queue < 0) return 1;
    sysv_semctl(set, 0, IPC_RMID);
    sysv_shmctl(segment, IPC_RMID, nullptr);
    sysv_msgctl(queue, IPC_RMID, nullptr);
    return 0;
  });
}

class DaemonStallTest : public ::testing::TestWithParam<Forgery> {
 protected:
  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    daemon_ = std::make_unique<testing::TestDaemon>(testing::FreshNamespaceDir("stall"));
    daemon_->Start();
    ASSERT_EQ(chmod(daemon_->dir().c_str(), 0755), 0);  // other users reach the socket
  }

  std::unique_ptr<testing::TestDaemon> daemon_;
};

// mallory's set: 100 processes each add 1 with SEM_UNDO and exit while the
// set's lock word names a holder that never lets go. Their undo is still
// applied once he stops forging.
TEST_P(DaemonStallTest, ForgedSetLockDoesNotStallOthers) {
  Pipe ready, release;
  const std::string dir = daemon_->dir();
  const Forgery forgery = GetParam();
  const pid_t mallory = SpawnAs(User("mallory", kMallory, kMallory), [&] {
    const int id = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (id < 0) return 10;
    Pipe started, go;
    std::vector<pid_t> children;
    for (int i = 0; i < kExits; ++i) {
      const pid_t child = fork();
      if (child == 0) {
        go.CloseWrite();
        struct sembuf up = {0, 1, SEM_UNDO};
        if (sysv_semop(id, &up, 1) != 0) _exit(1);
        started.Put(i);
        go.Get();  // EOF: exit, leaving the undo to the daemon
        _exit(0);
      }
      children.push_back(child);
    }
    for (int i = 0; i < kExits; ++i) {
      if (started.Get() < 0) return 11;
    }
    testing::RawClient client(dir);
    if (!client.ok() || client.Register() != 0) return 12;
    unsigned char* region = MapSet(client, id);
    if (region == nullptr) return 13;
    uint64_t* word = LockWord(region + offsetof(core::SemRegionHeader, lock));
    __atomic_store_n(word, ForgedWord(forgery), __ATOMIC_RELEASE);
    go.CloseBoth();
    for (pid_t child : children) {
      if (WaitStatus(child) != 0) return 14;
    }
    ready.Put(0);
    if (release.Get(60) < 0) return 15;
    // A dead holder's lock is the daemon's to take over: left as it is.
    if (forgery != Forgery::kDeadProcess) __atomic_store_n(word, 0, __ATOMIC_RELEASE);
    // The daemon applies the postponed undo in the background.
    for (int i = 0; i < kSettleSeconds * 20; ++i) {
      if (RawValue(region) == 0) return 0;
      usleep(50'000);
    }
    std::fprintf(stderr, "mallory: the undo was never applied (value %d)\n", RawValue(region));
    return 16;
  });
  ASSERT_EQ(ready.Get(60), 0) << "mallory's set-up failed";
  EXPECT_EQ(AliceCreatesObjects(), 0) << "alice's requests were not answered while mallory's lock was held";
  release.Put(0);
  EXPECT_EQ(WaitStatus(mallory), 0);
}

// mallory's queue: 100 receivers asleep on it are killed while the queue's
// lock word names a holder that never lets go. Their waiter records are
// still dropped once he stops forging.
TEST_P(DaemonStallTest, ForgedQueueLockDoesNotStallOthers) {
  Pipe ready, release;
  const std::string dir = daemon_->dir();
  const Forgery forgery = GetParam();
  const pid_t mallory = SpawnAs(User("mallory", kMallory, kMallory), [&] {
    const int id = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0) return 10;
    testing::RawClient client(dir);
    if (!client.ok() || client.Register() != 0) return 12;
    unsigned char* region = MapQueue(client, id);
    if (region == nullptr) return 13;
    auto* header = reinterpret_cast<core::MsgQueueHeader*>(region);
    std::vector<pid_t> children;
    for (int i = 0; i < kExits; ++i) {
      const pid_t child = fork();
      if (child == 0) {
        Message m{};
        sysv_msgrcv(id, &m, sizeof(m.mtext), 1, 0);
        _exit(0);
      }
      children.push_back(child);
    }
    for (int i = 0; i < kSettleSeconds * 20 && header->waiters.load() < kExits; ++i) usleep(50'000);
    if (header->waiters.load() != kExits) return 11;
    uint64_t* word = LockWord(header->recv_lock);
    __atomic_store_n(word, ForgedWord(forgery), __ATOMIC_RELEASE);
    for (pid_t child : children) kill(child, SIGKILL);
    for (pid_t child : children) WaitStatus(child);
    ready.Put(0);
    if (release.Get(60) < 0) return 15;
    if (forgery != Forgery::kDeadProcess) __atomic_store_n(word, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < kSettleSeconds * 20; ++i) {
      if (header->waiters.load() == 0) return 0;
      usleep(50'000);
    }
    std::fprintf(stderr, "mallory: %u waiter records left\n", header->waiters.load());
    return 16;
  });
  ASSERT_EQ(ready.Get(60), 0) << "mallory's set-up failed";
  EXPECT_EQ(AliceCreatesObjects(), 0) << "alice's requests were not answered while mallory's lock was held";
  release.Put(0);
  EXPECT_EQ(WaitStatus(mallory), 0);
}

INSTANTIATE_TEST_SUITE_P(Forgeries, DaemonStallTest,
                         ::testing::Values(Forgery::kLiveProcess, Forgery::kForeignNamespace,
                                           Forgery::kDeadProcess),
                         [](const ::testing::TestParamInfo<Forgery>& info) {
                           switch (info.param) {
                             case Forgery::kLiveProcess:
                               return "LiveProcess";
                             case Forgery::kForeignNamespace:
                               return "ForeignNamespace";
                             case Forgery::kDeadProcess:
                               break;
                           }
                           return "DeadProcess";
                         });

// --- a stopped holder ---------------------------------------------------

void OnAlarm(int) {}

// A handler without SA_RESTART that ends a blocked call after `ms`.
void InterruptAfter(int ms) {
  struct sigaction action = {};
  action.sa_handler = &OnAlarm;
  sigaction(SIGALRM, &action, nullptr);
  struct itimerval timer = {};
  timer.it_value.tv_sec = ms / 1000;
  timer.it_value.tv_usec = (ms % 1000) * 1000;
  setitimer(ITIMER_REAL, &timer, nullptr);
}

// Result of a call as "0" or the errno's name.
std::string Outcome(long rc) { return rc >= 0 ? "0" : strerrorname_np(errno); }

class StoppedHolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    daemon_ = std::make_unique<testing::TestDaemon>(testing::FreshNamespaceDir("stopped"));
    daemon_->Start();
    ASSERT_EQ(chmod(daemon_->dir().c_str(), 0755), 0);
  }

  // carol creates an object (`create` returns its id), takes the locks
  // `locks_of` finds in its mapped region, and stops. Returns the id; the
  // stopped holder's pid goes to holder_.
  int StartStoppedHolder(const std::function<int()>& create,
                         const std::function<unsigned char*(testing::RawClient&, int)>& map,
                         const std::function<std::vector<void*>(unsigned char*)>& locks_of) {
    Pipe info;
    const std::string dir = daemon_->dir();
    carol_ = SpawnAs(User("carol", kCarol, kCarol), [&] {
      const int id = create();
      if (id < 0) return 10;
      testing::RawClient client(dir);
      if (!client.ok() || client.Register() != 0) return 12;
      unsigned char* region = map(client, id);
      if (region == nullptr) return 13;
      std::vector<void*> locks = locks_of(region);
      for (void* lock : locks) {
        if (!core::HoldsLock(RegionMutex::Lock(lock, core::Deadline::Infinite()))) return 14;
      }
      info.Put(id);
      info.Put(getpid());
      raise(SIGSTOP);
      for (auto it = locks.rbegin(); it != locks.rend(); ++it) RegionMutex::Unlock(*it);
      return 0;
    });
    const int id = info.Get();
    holder_ = info.Get();
    EXPECT_GT(holder_, 0) << "carol's set-up failed";
    for (int i = 0; i < 1000 && holder_ > 0 && testing::ProcessState(holder_) != 'T'; ++i) usleep(5000);
    EXPECT_EQ(testing::ProcessState(holder_), 'T');
    return id;
  }

  // carol's 0646 set (rw for alice, read-only for dora), its lock held.
  int StartStoppedSetHolder() {
    return StartStoppedHolder(
        [] { return sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0646); }, &MapSet,
        [](unsigned char* region) {
          return std::vector<void*>{region + offsetof(core::SemRegionHeader, lock)};
        });
  }

  // alice's blocking semop (+1, SEM_UNDO, so it needs the lock) on `id`, in
  // a child; `done` gets 0 or its errno.
  static pid_t SpawnBlockedSemop(int id, const Pipe& done) {
    return SpawnAs(User("alice", kAlice, kAlice), [&] {
      struct sembuf up = {0, 1, SEM_UNDO};
      const int rc = sysv_semop(id, &up, 1);
      done.Put(rc == 0 ? 0 : errno);
      return 0;
    });
  }

  void ContinueHolder() {
    if (holder_ > 0) kill(holder_, SIGCONT);
    holder_ = -1;
  }

  void TearDown() override {
    ContinueHolder();
    if (carol_ > 0) {
      EXPECT_EQ(WaitStatus(carol_), 0);
    }
  }

  std::unique_ptr<testing::TestDaemon> daemon_;
  pid_t carol_ = -1;
  pid_t holder_ = -1;
};

TEST_F(StoppedHolderTest, SemopWaitsAsABlockedCall) {
  const int id = StartStoppedSetHolder();
  ASSERT_GE(id, 0);
  // SEM_UNDO keeps the operation off the lock-free path: it needs the lock.
  const testing::Identity alice = User("alice", kAlice, kAlice);
  EXPECT_EQ(RunAs(alice, [&] {
              alarm(kWatchdogSeconds);
              struct sembuf up = {0, 1, SEM_UNDO | IPC_NOWAIT};
              const std::string nowait = Outcome(sysv_semop(id, &up, 1));
              up.sem_flg = SEM_UNDO;
              InterruptAfter(300);
              const std::string interrupted = Outcome(sysv_semop(id, &up, 1));
              const struct timespec timeout = {0, 300'000'000};
              const std::string timed = Outcome(sysv_semtimedop(id, &up, 1, &timeout));
              std::fprintf(stderr, "alice: IPC_NOWAIT %s, signal %s, timeout %s\n", nowait.c_str(),
                           interrupted.c_str(), timed.c_str());
              return nowait == "EAGAIN" && interrupted == "EINTR" && timed == "EAGAIN" ? 0 : 1;
            }),
            0);
  // dora reads through the daemon (read permission only); alice blocks.
  Pipe dora_value, alice_done;
  const pid_t dora = SpawnAs(User("dora", kDora, kCarol), [&] {
    const int value = sysv_semctl(id, 0, GETVAL);
    dora_value.Put(value < 0 ? -errno : value);
    return 0;
  });
  const pid_t blocked = SpawnBlockedSemop(id, alice_done);
  // The daemon serves others meanwhile, and neither call has ended.
  EXPECT_EQ(AliceCreatesObjects(), 0);
  EXPECT_EQ(dora_value.Get(1), -1) << "dora's GETVAL was answered while the lock was held";
  EXPECT_EQ(alice_done.Get(0), -1) << "alice's semop ended while the lock was held";
  ContinueHolder();
  const int value = dora_value.Get();
  EXPECT_GE(value, 0) << "dora's GETVAL failed: " << strerrorname_np(-value);
  EXPECT_EQ(alice_done.Get(), 0) << "alice's semop after SIGCONT";
  EXPECT_EQ(WaitStatus(dora), 0);
  EXPECT_EQ(WaitStatus(blocked), 0);
}

// IPC_RMID of a set whose lock a stopped process holds: the set is gone for
// everyone at once; a semop waiting for the lock then ends with EIDRM.
TEST_F(StoppedHolderTest, RemovalDoesNotWaitForTheLock) {
  const int id = StartStoppedSetHolder();
  ASSERT_GE(id, 0);
  Pipe alice_done;
  const pid_t blocked = SpawnBlockedSemop(id, alice_done);
  EXPECT_EQ(alice_done.Get(1), -1) << "alice's semop ended while the lock was held";
  // As root, under a watchdog: a removal that waited would never return.
  EXPECT_EQ(RunAs(User("root", 0, 0), [&] {
              alarm(kWatchdogSeconds);
              if (sysv_semctl(id, 0, IPC_RMID) != 0) return 1;
              struct semid_ds ds{};
              return sysv_semctl(id, 0, IPC_STAT, &ds) == -1 && (errno == EINVAL || errno == EIDRM) ? 0 : 2;
            }),
            0);
  ContinueHolder();
  EXPECT_EQ(alice_done.Get(), EIDRM) << "alice's semop on the removed set";
  EXPECT_EQ(WaitStatus(blocked), 0);
}

TEST_F(StoppedHolderTest, MsgsndAndMsgrcvWaitAsBlockedCalls) {
  const int id = StartStoppedHolder(
      [] { return sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0666); }, &MapQueue,
      [](unsigned char* region) {
        auto* header = reinterpret_cast<core::MsgQueueHeader*>(region);
        return std::vector<void*>{header->recv_lock, header->send_lock};
      });
  ASSERT_GE(id, 0);
  const testing::Identity alice = User("alice", kAlice, kAlice);
  EXPECT_EQ(RunAs(alice, [&] {
              alarm(kWatchdogSeconds);
              Message m{1, "hello"};
              const std::string send_nowait = Outcome(sysv_msgsnd(id, &m, 6, IPC_NOWAIT));
              const std::string recv_nowait = Outcome(sysv_msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
              InterruptAfter(300);
              const std::string send_interrupted = Outcome(sysv_msgsnd(id, &m, 6, 0));
              InterruptAfter(300);
              const std::string recv_interrupted = Outcome(sysv_msgrcv(id, &m, sizeof(m.mtext), 0, 0));
              std::fprintf(stderr, "alice: msgsnd IPC_NOWAIT %s, msgrcv IPC_NOWAIT %s, signal %s / %s\n",
                           send_nowait.c_str(), recv_nowait.c_str(), send_interrupted.c_str(),
                           recv_interrupted.c_str());
              return send_nowait == "EAGAIN" && recv_nowait == "ENOMSG" && send_interrupted == "EINTR" &&
                             recv_interrupted == "EINTR"
                         ? 0
                         : 1;
            }),
            0);
  Pipe sent, received;
  const pid_t receiver = SpawnAs(alice, [&] {
    Message m{};
    const ssize_t n = sysv_msgrcv(id, &m, sizeof(m.mtext), 0, 0);
    received.Put(n == 6 && std::strcmp(m.mtext, "hello") == 0 ? 0 : (n < 0 ? errno : 1000));
    return 0;
  });
  const pid_t sender = SpawnAs(alice, [&] {
    Message m{1, "hello"};
    sent.Put(sysv_msgsnd(id, &m, 6, 0) == 0 ? 0 : errno);
    return 0;
  });
  EXPECT_EQ(AliceCreatesObjects(), 0);
  EXPECT_EQ(sent.Get(1), -1) << "alice's msgsnd ended while the locks were held";
  EXPECT_EQ(received.Get(0), -1) << "alice's msgrcv ended while the locks were held";
  ContinueHolder();
  EXPECT_EQ(sent.Get(), 0);
  EXPECT_EQ(received.Get(), 0);
  EXPECT_EQ(WaitStatus(sender), 0);
  EXPECT_EQ(WaitStatus(receiver), 0);
}

}  // namespace
}  // namespace sysv

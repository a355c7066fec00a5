// core::SemSet on a real shared mapping with the Linux platform (futex
// waits, robust mutex, kill(pid, 0)): threads and forked processes as users.
#include "core/sem/sem_set.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <cerrno>
#include <chrono>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "backends/linux/sem_platform.h"
#include "core/ipc/ipc_constants.h"
#include "core/sem/sem_registry.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

class SemSetTest : public ::testing::Test {
 protected:
  void Make(int32_t nsems) {
    size_ = SemSet::RegionSize(nsems);
    base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(base_, MAP_FAILED);
    absl::StatusOr<SemSet> set = SemSet::Format(base_, size_, nsems, 1000, &linux_backend::LinuxSemPlatform());
    ASSERT_TRUE(set.ok()) << set.status();
    set_.emplace(*set);
  }
  void TearDown() override {
    if (base_ != nullptr) munmap(base_, size_);
  }

  SemSet& set() { return *set_; }
  SemSet::Caller me() const { return SemSet::Caller{getpid(), 1}; }
  int Op(std::vector<SemOp> sops, Deadline deadline = Deadline::Infinite()) {
    return set().Semop(sops, me(), deadline);
  }
  // Waits until `n` operations sleep on semnum (GETNCNT).
  void AwaitNcnt(int32_t semnum, int n) {
    for (int i = 0; i < 5000 && set().GetNcnt(semnum) != n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(set().GetNcnt(semnum), n);
  }
  // Semaphore 0 of a new one-semaphore set as a mutex (value 1) around a
  // counter in memory shared with `processes` forked children, each of
  // which runs `worker(counter)` and exits with what it returns (0: all
  // went well). Checks that every child did, that the counter reached
  // `expected` (no increment lost: exclusion held) and that the mutex is
  // free again with nobody waiting.
  void RunMutexWorkers(int processes, const std::function<int(int* counter)>& worker, int expected) {
    Make(1);
    auto* counter = static_cast<int*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(counter, MAP_FAILED);
    *counter = 0;
    EXPECT_EQ(set().SetVal(0, 1, me()), 0);
    std::vector<pid_t> children;
    for (int p = 0; p < processes; ++p) {
      const pid_t child = fork();
      if (child == 0) _exit(worker(counter));
      children.push_back(child);
    }
    for (pid_t child : children) {
      int status = 0;
      ASSERT_EQ(waitpid(child, &status, 0), child);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
    EXPECT_EQ(*counter, expected);
    EXPECT_EQ(set().GetVal(0), 1);
    EXPECT_EQ(set().GetNcnt(0), 0);
    munmap(counter, 4096);
  }
  // A child process queued on semaphore 0 (P), killed and reaped there: its
  // record stays queued until someone drops it. Returns its pid.
  pid_t KilledSleeper() {
    const pid_t doomed = fork();
    if (doomed == 0) {
      Op({{0, -1, 0}});
      _exit(0);
    }
    AwaitNcnt(0, 1);
    kill(doomed, SIGKILL);
    waitpid(doomed, nullptr, 0);
    return doomed;
  }

  void* base_ = nullptr;
  size_t size_ = 0;
  std::optional<SemSet> set_;
};

TEST_F(SemSetTest, IncrementThenDecrementLeavesZeroAndRecordsThePid) {
  Make(2);
  EXPECT_EQ(Op({{1, 3, 0}}), 0);
  EXPECT_EQ(set().GetVal(1), 3);
  EXPECT_EQ(set().GetPid(1), getpid());
  EXPECT_EQ(Op({{1, -3, 0}}), 0);
  EXPECT_EQ(set().GetVal(1), 0);
  EXPECT_NE(set().OTime(), 0);
}

TEST_F(SemSetTest, AllOrNothingAcrossTheSet) {
  Make(3);
  EXPECT_EQ(Op({{0, 1, 0}, {1, 1, 0}}), 0);
  // The second sop cannot proceed: nothing applies.
  EXPECT_EQ(Op({{0, -1, 0}, {2, -1, kIpcNowait}}), EAGAIN);
  EXPECT_EQ(set().GetVal(0), 1);
  EXPECT_EQ(Op({{0, 32767, 0}}), ERANGE);
  EXPECT_EQ(set().GetVal(0), 1);
}

TEST_F(SemSetTest, SeveralOpsOnOneSemaphoreApplyInOrder) {
  Make(1);
  EXPECT_EQ(Op({{0, 2, 0}, {0, -1, 0}, {0, -1, 0}, {0, 0, 0}}), 0);
  EXPECT_EQ(set().GetVal(0), 0);
}

TEST_F(SemSetTest, UndoIsAppliedAtExitAndClamped) {
  Make(2);
  const SemSet::Caller worker{424242, 7};
  EXPECT_EQ(set().Semop(std::vector<SemOp>{{0, 5, kSemUndo}, {1, 2, 0}}, worker, Deadline::Infinite()), 0);
  EXPECT_EQ(Op({{0, -4, 0}}), 0);  // someone else takes 4 of the 5
  EXPECT_TRUE(set().ProcessExited(worker));
  EXPECT_EQ(set().GetVal(0), 0);  // 1 - 5, clamped to 0
  EXPECT_EQ(set().GetVal(1), 2);  // no undo on it
  EXPECT_EQ(set().GetPid(0), 424242);
  EXPECT_FALSE(set().ProcessExited(worker)) << "the undo record is gone";
}

TEST_F(SemSetTest, SetValZeroesEveryUndoAdjustment) {
  Make(1);
  const SemSet::Caller worker{424243, 7};
  EXPECT_EQ(set().Semop(std::vector<SemOp>{{0, 5, kSemUndo}}, worker, Deadline::Infinite()), 0);
  EXPECT_EQ(set().SetVal(0, 2, me()), 0);
  EXPECT_TRUE(set().ProcessExited(worker));
  EXPECT_EQ(set().GetVal(0), 2);
}

TEST_F(SemSetTest, UndoAdjustmentOutOfRangeIsErange) {
  Make(1);
  EXPECT_EQ(Op({{0, 32767, kSemUndo}}), 0);  // semadj -32767
  EXPECT_EQ(Op({{0, -32767, 0}}), 0);        // drained without undo
  EXPECT_EQ(Op({{0, 1, kSemUndo}}), 0);      // semadj -32768: the lowest allowed
  EXPECT_EQ(Op({{0, -1, 0}}), 0);
  EXPECT_EQ(Op({{0, 1, kSemUndo}}), ERANGE) << "semadj would reach -32769";
  EXPECT_EQ(set().GetVal(0), 0);
}

TEST_F(SemSetTest, SleeperIsCompletedByTheWaker) {
  Make(1);
  std::atomic<int> result{-1};
  std::thread sleeper([&] { result = Op({{0, -2, 0}}); });
  AwaitNcnt(0, 1);
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(set().GetNcnt(0), 1) << "1 is not enough for -2";
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  sleeper.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_EQ(set().GetVal(0), 0);
  EXPECT_EQ(set().GetNcnt(0), 0);
}

TEST_F(SemSetTest, SleepersOnOneSemaphoreAreServedFifoWithoutHeadOfLineBlocking) {
  Make(1);
  std::atomic<bool> done[3] = {false, false, false};
  std::vector<std::thread> threads;
  const std::vector<int> wants = {-3, -1, -1};
  for (size_t i = 0; i < wants.size(); ++i) {
    threads.emplace_back([&, i] {
      EXPECT_EQ(Op({{0, static_cast<int16_t>(wants[i]), 0}}), 0);
      done[i] = true;
    });
    AwaitNcnt(0, static_cast<int>(i) + 1);
  }
  // 2 units: the -3 at the head cannot go, the two -1s behind it can.
  EXPECT_EQ(Op({{0, 2, 0}}), 0);
  threads[1].join();
  threads[2].join();
  EXPECT_FALSE(done[0].load());
  EXPECT_EQ(set().GetNcnt(0), 1);
  EXPECT_EQ(set().GetVal(0), 0);
  EXPECT_EQ(Op({{0, 3, 0}}), 0);
  threads[0].join();
  EXPECT_EQ(set().GetVal(0), 0);
}

TEST_F(SemSetTest, WaitForZeroAndComplexCounts) {
  Make(2);
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  std::thread zero([&] { EXPECT_EQ(Op({{0, 0, 0}}), 0); });
  for (int i = 0; i < 5000 && set().GetZcnt(0) != 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(set().GetZcnt(0), 1);
  // A complex op blocked on semaphore 1 counts there only (3.16+).
  std::thread complex([&] { EXPECT_EQ(Op({{0, -1, 0}, {1, -1, 0}}), 0); });
  AwaitNcnt(1, 1);
  EXPECT_EQ(set().GetNcnt(0), 0);
  EXPECT_EQ(Op({{1, 1, 0}}), 0);  // the complex op completes: sem 0 -> 0
  complex.join();
  zero.join();  // and the wait-for-zero with it
  EXPECT_EQ(set().GetVal(0), 0);
  EXPECT_EQ(set().GetVal(1), 0);
}

TEST_F(SemSetTest, TimeoutGivesEagainAndLeavesNoSleeper) {
  Make(1);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Op({{0, -1, 0}}, Deadline::After(absl::Milliseconds(30))), EAGAIN);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(25));
  EXPECT_EQ(set().GetNcnt(0), 0);
}

TEST_F(SemSetTest, RemoveWakesEverySleeperWithEidrm) {
  Make(2);
  std::vector<std::thread> threads;
  std::atomic<int> eidrm{0};
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      if (Op({{static_cast<uint16_t>(i % 2), -1, 0}}) == EIDRM) eidrm++;
    });
  }
  for (int i = 0; i < 5000 && set().GetNcnt(0) + set().GetNcnt(1) != 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  set().Remove();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(eidrm.load(), 3);
  EXPECT_FALSE(set().TrySemopFast({0, 1, 0}, getpid())) << "a removed set is frozen for good";
  EXPECT_EQ(Op({{0, 1, 0}}), EIDRM);
}

TEST_F(SemSetTest, SleeperInAnotherProcessIsWokenAndKilledSleepersAreDropped) {
  Make(1);
  const pid_t child = fork();
  if (child == 0) _exit(Op({{0, -1, 0}}) == 0 ? 0 : 1);
  AwaitNcnt(0, 1);
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // A sleeper killed while queued never gets its operation applied.
  KilledSleeper();
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(set().GetVal(0), 1) << "the dead sleeper must not have taken it";
}

TEST_F(SemSetTest, HolderKilledMidUpdateIsRepaired) {
  Make(3);
  // A child takes the lock, starts a logged update and dies mid-way.
  const pid_t child = fork();
  if (child == 0) {
    auto* header = static_cast<SemRegionHeader*>(base_);
    const SemPlatform& platform = linux_backend::LinuxSemPlatform();
    if (platform.mutex.lock(header->lock, Deadline::Infinite()) != LockResult::kAcquired) _exit(1);
    header->redo.count = 2;
    header->redo.pid = 777;
    header->redo.undo_block = kNoBlock;
    header->redo.waiter_block = kNoBlock;
    header->redo.clear_undo = kSemClearNoUndo;
    header->redo.otime = 0;
    header->redo.entries[0] = SemRedoEntry{0, 0, 5, 0, 0};
    header->redo.entries[1] = SemRedoEntry{2, 0, 9, 0, 0};
    header->redo.active.store(1);
    // Applies only the first entry, then dies holding the lock.
    reinterpret_cast<SemSlot*>(static_cast<char*>(base_) + header->slots_offset.load())[0].word.store(SemWord(5, 777) | kSemFrozen);
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  EXPECT_EQ(set().GetVal(2), 9) << "the next holder finished the update";
  EXPECT_EQ(set().GetVal(0), 5);
  EXPECT_EQ(set().GetPid(2), 777);
  EXPECT_EQ(Op({{1, 1, 0}}), 0);
  EXPECT_TRUE(set().TrySemopFast({0, 1, 0}, getpid())) << "the dead holder's frozen word was thawed";
  EXPECT_EQ(set().GetVal(0), 6);
}

TEST_F(SemSetTest, ScribbledArenaGivesErrorsNotCrashes) {
  Make(4);
  std::thread sleeper([&] { Op({{0, -1, 0}}, Deadline::After(absl::Milliseconds(200))); });
  AwaitNcnt(0, 1);
  std::mt19937 rng(7);
  auto* bytes = static_cast<unsigned char*>(base_);
  // Everything after the lock: counters, slots and arena.
  const size_t from = offsetof(SemRegionHeader, redo) + sizeof(SemRedoLog);
  for (int i = 0; i < 20000; ++i) bytes[from + rng() % (size_ - from)] = static_cast<unsigned char>(rng());
  for (int i = 0; i < 200; ++i) {
    std::vector<SemOp> sops = {{static_cast<uint16_t>(rng() % 4), static_cast<int16_t>(static_cast<int>(rng() % 5) - 2), kIpcNowait}};
    const int result = Op(sops);
    EXPECT_TRUE(result == 0 || result == EAGAIN || result == ERANGE || result == EIDRM || result == ENOMEM) << result;
    (void)set().GetNcnt(static_cast<int32_t>(rng() % 4));
  }
  sleeper.join();
}

// The recovery rules of "Regions are untrusted input" (core/sem/sem_set.h),
// one scribble at a time, on a set the daemon vouches for.
TEST_F(SemSetTest, ForgedRemovalMarkIsClearedOnAVouchedSet) {
  Make(2);
  set().BindToOwner();
  reinterpret_cast<SemRegionHeader*>(base_)->removed.store(1);
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(set().GetVal(0), 1);
  EXPECT_EQ(reinterpret_cast<SemRegionHeader*>(base_)->removed.load(), 0u);
  // A real IPC_RMID is still one for a view that trusts the mark (the
  // daemon drops its own mapping when it removes a set).
  set().Remove();
  absl::StatusOr<SemSet> unbound = SemSet::Open(base_, size_, &linux_backend::LinuxSemPlatform());
  ASSERT_TRUE(unbound.ok());
  EXPECT_EQ(unbound->Semop(std::vector<SemOp>{{0, 1, 0}}, me(), Deadline::Infinite()), EIDRM);
}

TEST_F(SemSetTest, ScribbledHeaderGeometryIsNotRead) {
  Make(3);
  auto* header = reinterpret_cast<SemRegionHeader*>(base_);
  header->magic.store(0);
  header->nsems.store(1'000'000);
  header->arena_blocks.store(7);
  absl::StatusOr<SemSet> again = SemSet::Open(base_, size_, &linux_backend::LinuxSemPlatform());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->nsems(), 3);
  EXPECT_FALSE(SemSet::HeaderIntact(base_, size_));
}

TEST_F(SemSetTest, LockThatIsNotOneIsFormattedAgainAndTaken) {
  Make(1);
  auto* header = reinterpret_cast<SemRegionHeader*>(base_);
  // The lock's magic, then "not recoverable" in its word.
  reinterpret_cast<uint32_t*>(header->lock)[2] = 0xdeadbeef;
  EXPECT_EQ(Op({{0, 2, 0}}), 0);
  *reinterpret_cast<uint64_t*>(header->lock) = 0x3fff'ffff;
  EXPECT_EQ(Op({{0, -1, 0}}), 0);
  EXPECT_EQ(set().GetVal(0), 1);
}

TEST_F(SemSetTest, ValueBeyondSemvmxReadsAsSemvmx) {
  Make(1);
  auto* slots = reinterpret_cast<SemSlot*>(static_cast<unsigned char*>(base_) +
                                           reinterpret_cast<SemRegionHeader*>(base_)->slots_offset.load());
  slots[0].word.store(SemWord(kSemVmx + 1000, 77));
  EXPECT_EQ(set().GetVal(0), kSemVmx);
  EXPECT_EQ(Op({{0, 1, kIpcNowait}}), ERANGE);
  EXPECT_TRUE(set().TrySemopFast({0, -1, 0}, getpid()));
  EXPECT_EQ(set().GetVal(0), kSemVmx - 1);
}

TEST_F(SemSetTest, SleeperWhoseWakeUpAScribbleLostRunsItsOperationItself) {
  Make(1);
  std::atomic<int> result{-1};
  std::thread sleeper([&] { result = Op({{0, -1, 0}}); });
  AwaitNcnt(0, 1);
  auto* header = reinterpret_cast<SemRegionHeader*>(base_);
  auto* slots = reinterpret_cast<SemSlot*>(static_cast<unsigned char*>(base_) +
                                           reinterpret_cast<SemRegionHeader*>(base_)->slots_offset.load());
  // "Nobody is queued", and the value raised behind the lock's back: no
  // waker will look at the queue.
  header->queued.store(0);
  slots[0].word.store(SemWord(1, 99));
  const auto start = std::chrono::steady_clock::now();
  sleeper.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(set().GetVal(0), 0);
}

TEST_F(SemSetTest, ForgedStatusIsNotTheSleepersAnswer) {
  Make(1);
  set().BindToOwner();  // as the daemon would: the set exists
  std::atomic<int> result{-1};
  std::thread sleeper([&] { result = Op({{0, -1, 0}}, Deadline::After(absl::Milliseconds(1500))); });
  AwaitNcnt(0, 1);
  // Every waiter record's status: "EIDRM" from nobody.
  auto* arena = static_cast<unsigned char*>(base_) + reinterpret_cast<SemRegionHeader*>(base_)->arena_offset.load();
  for (uint32_t i = 0; i < 64; ++i) {
    auto* w = reinterpret_cast<SemWaiter*>(arena + size_t{i} * kSemBlockSize);
    if (w->block.kind.load() == static_cast<uint32_t>(SemBlockKind::kWaiter)) {
      w->status.store(EIDRM);
      linux_backend::LinuxSemPlatform().waiter.wake(&w->status, 1);
    }
  }
  sleeper.join();
  EXPECT_EQ(result.load(), EAGAIN);  // its timeout, not "removed"
}

}  // namespace
}  // namespace sysv::core

namespace sysv::core {
namespace {

TEST_F(SemSetTest, QueuedComplexOpThatWouldOverflowGetsErange) {
  Make(40);
  std::atomic<int> result{-1};
  std::thread sleeper([&] {
    result = Op({{14, 1, kSemUndo}, {24, 1, 0}, {37, 32767, kSemUndo}, {39, -2, 0}});
  });
  AwaitNcnt(39, 1);
  std::vector<uint16_t> values(40, 0);
  values[14] = values[24] = values[37] = values[39] = 64;
  EXPECT_EQ(set().SetAll(values, me()), 0);
  sleeper.join();
  EXPECT_EQ(result.load(), ERANGE);
}

TEST_F(SemSetTest, ForkedSleeperWithUndoIsUndoneOnItsOwnSemaphore) {
  Make(40);
  const pid_t child = fork();
  if (child == 0) {
    const SemSet::Caller caller{getpid(), 99};
    _exit(set().Semop(std::vector<SemOp>{{7, -1, kSemUndo}}, caller, Deadline::Infinite()) == 0 ? 0 : 1);
  }
  AwaitNcnt(7, 1);
  std::vector<uint16_t> values(40, 0);
  values[7] = 64;
  EXPECT_EQ(set().SetAll(values, me()), 0);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(set().GetVal(7), 63);
  EXPECT_TRUE(set().ProcessExited(SemSet::Caller{child, 99}));
  EXPECT_EQ(set().GetVal(7), 64);
  for (int i = 0; i < 40; ++i) {
    if (i != 7) {
      EXPECT_EQ(set().GetVal(i), 0) << i;
    }
  }
}

}  // namespace
}  // namespace sysv::core

namespace sysv::core {
namespace {

void NoteSignal(int) {}

TEST_F(SemSetTest, SignalHandlerInterruptsASleeperWithEintrEvenWithSaRestart) {
  Make(1);
  struct sigaction action {};
  action.sa_handler = &NoteSignal;
  action.sa_flags = SA_RESTART;  // semop is never restarted, whatever the flag
  sigemptyset(&action.sa_mask);
  struct sigaction previous;
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  std::atomic<int> result{-1};
  std::thread sleeper([&] { result = Op({{0, -1, 0}}); });
  AwaitNcnt(0, 1);
  // Past the sleeper's spin, into its futex sleep.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  pthread_kill(sleeper.native_handle(), SIGUSR1);
  sleeper.join();
  EXPECT_EQ(result.load(), EINTR);
  EXPECT_EQ(set().GetNcnt(0), 0) << "an interrupted sleeper leaves the queue";
  EXPECT_EQ(set().GetVal(0), 0);
  sigaction(SIGUSR1, &previous, nullptr);
}

}  // namespace
}  // namespace sysv::core

// The lock-free path of simple semops (the frozen-bit protocol of
// core/sem/sem_region.h), against the locked path.
namespace sysv::core {
namespace {

// One sop as the C library runs it: lock-free if it can, else locked.
int Simple(SemSet& set, SemOp sop, Deadline deadline = Deadline::Infinite()) {
  if (set.TrySemopFast(sop, getpid())) return 0;
  return set.Semop(absl::MakeConstSpan(&sop, 1), SemSet::Caller{getpid(), 1}, deadline);
}

TEST_F(SemSetTest, LockFreePathTakesOnlySimpleOpsThatCompleteAtOnce) {
  Make(2);
  EXPECT_TRUE(set().TrySemopFast({0, 2, 0}, getpid()));
  EXPECT_EQ(set().GetVal(0), 2);
  EXPECT_EQ(set().GetPid(0), getpid());
  EXPECT_NE(set().OTime(), 0);
  EXPECT_TRUE(set().TrySemopFast({0, -2, 0}, getpid()));
  EXPECT_FALSE(set().TrySemopFast({0, -1, 0}, getpid())) << "would sleep";
  EXPECT_FALSE(set().TrySemopFast({0, -1, kIpcNowait}, getpid())) << "EAGAIN is the locked path's";
  EXPECT_EQ(Op({{0, -1, kIpcNowait}}), EAGAIN);
  EXPECT_FALSE(set().TrySemopFast({0, 1, kSemUndo}, getpid())) << "SEM_UNDO needs the undo record";
  EXPECT_TRUE(set().TrySemopFast({1, 0, 0}, getpid())) << "wait-for-zero on a zero";
  EXPECT_TRUE(set().TrySemopFast({0, 32767, 0}, getpid()));
  EXPECT_FALSE(set().TrySemopFast({0, 1, 0}, getpid())) << "ERANGE is the locked path's";
  EXPECT_EQ(Op({{0, 1, 0}}), ERANGE);
  EXPECT_FALSE(set().TrySemopFast({0, 0, 0}, getpid())) << "wait-for-zero on a non-zero would sleep";
  EXPECT_EQ(set().GetVal(0), 32767);
}

TEST_F(SemSetTest, SemaphoreWithSleepersChangesOnlyUnderTheLock) {
  Make(2);
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  std::atomic<int> result{-1};
  std::thread zero([&] { result = Op({{0, 0, 0}}); });
  for (int i = 0; i < 5000 && set().GetZcnt(0) != 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(set().GetZcnt(0), 1);
  // The sleeper never read semaphore 1: it stays lock-free.
  EXPECT_TRUE(set().TrySemopFast({1, 1, 0}, getpid()));
  // Semaphore 0 must go through the lock, where the wake-up is atomic with
  // the change: the sleeper sees the zero even if it lasts no time at all.
  EXPECT_FALSE(set().TrySemopFast({0, -1, 0}, getpid()));
  EXPECT_EQ(Simple(set(), {0, -1, 0}), 0);
  EXPECT_EQ(Simple(set(), {0, 1, 0}), 0);
  zero.join();
  EXPECT_EQ(result.load(), 0);
  // Nobody sleeps any more: lock-free again.
  EXPECT_TRUE(set().TrySemopFast({0, -1, 0}, getpid()));
  EXPECT_EQ(set().GetVal(0), 0);
}

TEST_F(SemSetTest, LockFreeAndLockedOperationsConserveTokens) {
  // Semaphore 0 holds kTokens; "simple" threads move one token from 0 to 1
  // with two simple sops (mostly lock-free), "complex" threads move one back
  // with one complex sop (locked). A GETALL observer must always see an
  // atomic snapshot: between kTokens - kSimple (every simple thread between
  // its two sops) and kTokens tokens in all.
  constexpr int kTokens = 3, kSimple = 2, kComplex = 2, kRounds = 20000;
  Make(2);
  EXPECT_EQ(set().SetVal(0, kTokens, me()), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> bad_snapshots{0};
  std::thread observer([&] {
    uint16_t values[2];
    while (!stop.load()) {
      if (set().GetAll(absl::MakeSpan(values)) != 0) continue;
      const int total = values[0] + values[1];
      if (total > kTokens || total < kTokens - kSimple) bad_snapshots++;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kSimple; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        EXPECT_EQ(Simple(set(), {0, -1, 0}), 0);
        EXPECT_EQ(Simple(set(), {1, 1, 0}), 0);
      }
    });
  }
  for (int t = 0; t < kComplex; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds * kSimple / kComplex; ++i) EXPECT_EQ(Op({{1, -1, 0}, {0, 1, 0}}), 0);
    });
  }
  for (std::thread& t : threads) t.join();
  stop = true;
  observer.join();
  EXPECT_EQ(bad_snapshots.load(), 0);
  EXPECT_EQ(set().GetVal(0), kTokens);
  EXPECT_EQ(set().GetVal(1), 0);
  EXPECT_EQ(set().GetNcnt(0) + set().GetNcnt(1), 0);
}

TEST_F(SemSetTest, LockFreeMutexAmongProcessesLosesNoWakeUp) {
  // Processes use semaphore 0 as a mutex around a plain counter in shared
  // memory, with simple sops only: lock-free when uncontended, sleeping and
  // woken through the lock when contended. Every increment must survive and
  // nobody may sleep forever.
  constexpr int kProcesses = 3, kRounds = 20000;
  RunMutexWorkers(
      kProcesses,
      [this](int* counter) {
        for (int i = 0; i < kRounds; ++i) {
          if (Simple(set(), {0, -1, 0}) != 0) return 1;
          ++*counter;
          if (Simple(set(), {0, 1, 0}) != 0) return 2;
        }
        return 0;
      },
      kProcesses * kRounds);
}

// process_alive calls made through CountingPlatform(), which is the Linux
// platform otherwise.
std::atomic<int> g_liveness_questions{0};
bool CountedPidExists(int32_t pid) {
  g_liveness_questions.fetch_add(1);
  return linux_backend::LinuxSemPlatform().process_alive(pid);
}
const SemPlatform& CountingPlatform() {
  static const SemPlatform platform = [] {
    SemPlatform p = linux_backend::LinuxSemPlatform();
    p.process_alive = &CountedPidExists;
    return p;
  }();
  return platform;
}

// The queued waiter record of `pid` in the region at `base`, or nullptr.
SemWaiter* WaiterOf(void* base, pid_t pid) {
  auto* header = static_cast<SemRegionHeader*>(base);
  auto* arena = static_cast<unsigned char*>(base) + header->arena_offset.load();
  for (uint32_t i = 0; i < header->blocks_in_use_end; ++i) {
    auto* w = reinterpret_cast<SemWaiter*>(arena + size_t{i} * kSemBlockSize);
    if (w->block.kind.load() == static_cast<uint32_t>(SemBlockKind::kWaiter) && w->pid == pid &&
        SemStatusPending(w->status.load())) {
      return w;
    }
  }
  return nullptr;
}

TEST_F(SemSetTest, HandOffToAnAwakeSleeperAsksNoLivenessQuestion) {
  // A sleeper that spins or hands the CPU over holds a lease
  // (SemWaiter::awake_until): its waker needs no kill(pid, 0) to know it
  // lives. The sleeper's record is put in that state by hand (a real spin
  // lasts too short a time to aim at); a trial whose waker was descheduled
  // past the lease may ask, so one trial in many must not.
  Make(1);
  absl::StatusOr<SemSet> counted = SemSet::Open(base_, size_, &CountingPlatform());
  ASSERT_TRUE(counted.ok()) << counted.status();
  int quiet_trials = 0;
  for (int trial = 0; trial < 50 && quiet_trials == 0; ++trial) {
    std::thread sleeper([&] { EXPECT_EQ(Op({{0, -1, 0}}), 0); });
    AwaitNcnt(0, 1);
    SemWaiter* w = WaiterOf(base_, getpid());
    ASSERT_NE(w, nullptr);
    // Asleep in its futex by now: mark it awake, with a fresh lease.
    w->awake_until.store(Deadline::NowNanos() + kSemAwakeLeaseNanos);
    w->status.store(kSemStatusAwake);
    const int before = g_liveness_questions.load();
    std::vector<SemOp> v = {{0, 1, 0}};
    EXPECT_EQ(counted->Semop(v, me(), Deadline::Infinite()), 0);
    if (g_liveness_questions.load() == before) ++quiet_trials;
    // Decided without a wake-up call (it was awake): wake its futex sleep.
    linux_backend::LinuxSemPlatform().waiter.wake(&w->status, 1);
    sleeper.join();
    EXPECT_EQ(set().GetVal(0), 0);
  }
  EXPECT_GT(quiet_trials, 0) << "every hand-off to an awake sleeper asked whether it lives";
}

TEST_F(SemSetTest, SleeperKilledWithAnExpiredOrForgedLeaseIsDropped) {
  // Past its lease, or with one further ahead than a sleeper ever takes (a
  // scribble), an awake-looking record's process is asked about, and a
  // dead one's operation is not applied.
  Make(1);
  for (int64_t lease : {int64_t{-1'000'000}, int64_t{3'600'000'000'000}}) {
    const pid_t doomed = KilledSleeper();
    SemWaiter* w = WaiterOf(base_, doomed);
    ASSERT_NE(w, nullptr);
    w->awake_until.store(Deadline::NowNanos() + lease);
    w->status.store(kSemStatusAwake);
    EXPECT_EQ(Op({{0, 1, 0}}), 0);
    EXPECT_EQ(set().GetVal(0), 1) << "the dead sleeper took it (lease " << lease << " ns)";
    EXPECT_EQ(Op({{0, -1, 0}}), 0);
  }
}

// Two child processes queued, in that order, on semaphore 0 (a mutex held
// by the test: value 0), each taking it, giving it back and exiting; both
// stopped (SIGSTOP), so neither runs until SemSetTest resumes it.
class StoppedSleepers {
 public:
  StoppedSleepers(SemSet& set, const std::function<void(int)>& await_ncnt, int16_t flags = 0) {
    for (int i = 0; i < 2; ++i) {
      const pid_t child = fork();
      if (child == 0) {
        const SemSet::Caller self{getpid(), 1};
        std::vector<SemOp> p = {{0, -1, flags}}, v = {{0, 1, flags}};
        _exit(set.Semop(p, self, Deadline::Infinite()) == 0 && set.Semop(v, self, Deadline::Infinite()) == 0 ? 0 : 1);
      }
      pids_.push_back(child);
      await_ncnt(i + 1);
    }
    for (pid_t pid : pids_) kill(pid, SIGSTOP);
  }
  ~StoppedSleepers() {
    for (int i = 0; i < static_cast<int>(pids_.size()); ++i) Kill(i);
  }
  pid_t pid(int i) const { return pids_[i]; }
  // Resumes child `i` and returns its exit status (-1 if it did not end).
  int Finish(int i) {
    if (pids_[i] <= 0) return -1;
    kill(pids_[i], SIGCONT);
    int status = 0;
    const bool reaped = waitpid(pids_[i], &status, 0) == pids_[i];
    pids_[i] = 0;  // reaped: never signalled again (kill(0 or -1) would hit others)
    return reaped ? status : -1;
  }
  void Kill(int i) {
    if (pids_[i] <= 0) return;
    kill(pids_[i], SIGKILL);
    waitpid(pids_[i], nullptr, 0);
    pids_[i] = 0;
  }

 private:
  std::vector<pid_t> pids_;
};

TEST_F(SemSetTest, RunningProcessTakesAFreedMutexAheadOfSleepersThatHaveNotRun) {
  // The lazy hand-off: the head sleeper is woken to take the semaphore
  // itself; until it has run, a running process's simple decrement takes
  // it first (in the kernel it would have been the stopped sleeper's, and
  // the IPC_NOWAIT decrement EAGAIN). Both sleepers still get it, in order.
  Make(1);
  StoppedSleepers sleepers(set(), [this](int n) { AwaitNcnt(0, n); });
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(Op({{0, -1, kIpcNowait}}), 0) << "the semaphore went to a sleeper that has not run";
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(Op({{0, -1, kIpcNowait}}), 0);
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(sleepers.Finish(0), 0);
  EXPECT_EQ(sleepers.Finish(1), 0);
  EXPECT_EQ(set().GetVal(0), 1);
  EXPECT_EQ(set().GetNcnt(0), 0);
}

TEST_F(SemSetTest, SleeperOvertakenOnceIsHandedTheSemaphoreNext) {
  // No starvation: a nudged sleeper that wakes to find the semaphore taken
  // sleeps owed the next hand-off (kSemStatusOwed), which its waker makes
  // as the kernel does; a running process's decrement then finds it gone.
  Make(1);
  StoppedSleepers sleepers(set(), [this](int n) { AwaitNcnt(0, n); });
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(Op({{0, -1, kIpcNowait}}), 0) << "overtaking a nudged sleeper once";
  // The sleeper runs, finds it taken, and sleeps again, owed.
  kill(sleepers.pid(0), SIGCONT);
  SemWaiter* w = WaiterOf(base_, sleepers.pid(0));
  ASSERT_NE(w, nullptr);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (w->status.load() != kSemStatusOwed && std::chrono::steady_clock::now() < give_up) usleep(1000);
  ASSERT_EQ(w->status.load(), kSemStatusOwed);
  kill(sleepers.pid(0), SIGSTOP);
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(Op({{0, -1, kIpcNowait}}), EAGAIN) << "overtaken twice: it was owed the hand-off";
  EXPECT_EQ(set().GetVal(0), 0);
  EXPECT_EQ(set().GetNcnt(0), 1);
  EXPECT_EQ(sleepers.Finish(0), 0);
  EXPECT_EQ(sleepers.Finish(1), 0);
  EXPECT_EQ(set().GetVal(0), 1);
}

TEST_F(SemSetTest, ObserversOfANudgedSleeperSeeTheKernelsState) {
  // What semctl reports, a wait for zero, and the sleeper's own timeout
  // come out as if the waker had completed the nudged operation.
  Make(1);
  StoppedSleepers sleepers(set(), [this](int n) { AwaitNcnt(0, n); });
  EXPECT_EQ(Op({{0, 1, 0}}), 0);
  EXPECT_EQ(set().GetVal(0), 0);
  EXPECT_EQ(set().GetNcnt(0), 1);
  EXPECT_EQ(set().GetPid(0), sleepers.pid(0));
  EXPECT_EQ(Op({{0, -1, kIpcNowait}}), EAGAIN) << "settled: the head sleeper has it";
  EXPECT_EQ(sleepers.Finish(0), 0);  // gives it back: the second one's turn
  EXPECT_EQ(Op({{0, 0, 0}}, Deadline::After(absl::Seconds(5))), 0) << "a wait for zero settles first";
  EXPECT_EQ(sleepers.Finish(1), 0);
  EXPECT_EQ(set().GetVal(0), 1);
}

TEST_F(SemSetTest, NudgedSleeperKilledBeforeItRanPassesTheSemaphoreOn) {
  // Killed after it was woken to take the semaphore, before it ran: it never
  // took it, and once its death is handled (the daemon's ProcessExited) the
  // next sleeper has it.
  for (int16_t flags : {int16_t{0}, int16_t{kSemUndo}}) {
    Make(1);
    StoppedSleepers sleepers(set(), [this](int n) { AwaitNcnt(0, n); }, flags);
    EXPECT_EQ(Op({{0, 1, 0}}), 0);
    const pid_t doomed = sleepers.pid(0);
    sleepers.Kill(0);
    set().ProcessExited(SemSet::Caller{doomed, 1});
    EXPECT_EQ(sleepers.Finish(1), 0) << "flags " << flags;
    EXPECT_EQ(set().GetVal(0), 1) << "flags " << flags;
    EXPECT_EQ(set().GetNcnt(0), 0) << "flags " << flags;
  }
}

TEST_F(SemSetTest, ContendedMutexWithUndoAmongProcessesKeepsExclusionAndUndo) {
  // Six processes (queues long enough for the lazy hand-off) use semaphore
  // 0 as a mutex with SEM_UNDO around a plain counter; every increment
  // survives, and each one's adjustments net to zero at its exit.
  constexpr int kProcesses = 6, kRounds = 5000;
  RunMutexWorkers(
      kProcesses,
      [this](int* counter) {
        const SemSet::Caller self{getpid(), 1};
        std::vector<SemOp> lock = {{0, -1, kSemUndo}}, unlock = {{0, 1, kSemUndo}};
        for (int i = 0; i < kRounds; ++i) {
          if (set().Semop(lock, self, Deadline::Infinite()) != 0) return 1;
          const int seen = *counter;
          if (i % 64 == 0) sched_yield();  // a holder descheduled inside
          *counter = seen + 1;
          if (set().Semop(unlock, self, Deadline::Infinite()) != 0) return 2;
        }
        return set().ProcessExited(self) ? 0 : 3;
      },
      kProcesses * kRounds);
}

}  // namespace
}  // namespace sysv::core

// OwnerWordMutex with a scripted probe and a polling waiter: the algorithm
// alone, between threads. The real probe and futexes, across processes that
// are killed, run in //backends/linux:region_mutex_test (the conformance
// suite and the Linux specifics).
#include "core/owner_word_mutex.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "core/deadline.h"
#include "core/shared_mutex.h"
#include "core/waiter.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

// Sleeps by polling: enough for the algorithm, which never relies on a wake
// arriving (every sleep has a bounded interval).
struct PollingWaiter {
  static constexpr char kName[] = "polling";
  static WaitResult Wait(const std::atomic<uint32_t>* word, uint32_t expected, Deadline deadline) {
    while (word->load(std::memory_order_acquire) == expected) {
      if (deadline.HasExpired()) return WaitResult::kTimedOut;
      std::this_thread::yield();
    }
    return WaitResult::kWoken;
  }
  static void Wake(const std::atomic<uint32_t>*, int) {}
};

// Threads get TIDs 1, 2, ...; the test declares which owners are dead or
// unknown, and counts the probes.
struct ScriptedProbe {
  static inline std::atomic<uint32_t> next_tid{1};
  static inline std::atomic<uint32_t> dead_tid{0};
  static inline std::atomic<uint32_t> unknown_tid{0};
  static inline std::atomic<int> probes{0};

  static LockOwner Self() {
    thread_local const LockOwner self{next_tid.fetch_add(1), 7};
    return self;
  }
  static OwnerLiveness Probe(LockOwner owner) {
    probes.fetch_add(1);
    if (owner.tid == dead_tid.load()) return OwnerLiveness::kDead;
    if (owner.tid == unknown_tid.load()) return OwnerLiveness::kUnknown;
    return OwnerLiveness::kAlive;
  }
};

using Mutex = OwnerWordMutex<PollingWaiter, ScriptedProbe>;
static_assert(SharedMutex<Mutex>);

class OwnerWordMutexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Mutex::Init(storage_);
    ScriptedProbe::dead_tid = 0;
    ScriptedProbe::unknown_tid = 0;
    ScriptedProbe::probes = 0;
  }
  void* storage() { return storage_; }
  uint64_t word() { return __atomic_load_n(reinterpret_cast<uint64_t*>(storage_), __ATOMIC_SEQ_CST); }
  void set_word(uint64_t w) { __atomic_store_n(reinterpret_cast<uint64_t*>(storage_), w, __ATOMIC_SEQ_CST); }

 private:
  alignas(64) unsigned char storage_[Mutex::kStorageSize];
};

TEST_F(OwnerWordMutexTest, FreeLockWritesOurIdentityAndUnlockClearsIt) {
  ASSERT_EQ(Mutex::Lock(storage(), Deadline::Infinite()), LockResult::kAcquired);
  EXPECT_EQ(word(), OwnerWord::Of(ScriptedProbe::Self()));
  Mutex::Unlock(storage());
  EXPECT_EQ(word(), 0u);
  EXPECT_EQ(ScriptedProbe::probes.load(), 0) << "no probe without contention";
}

TEST_F(OwnerWordMutexTest, ExcludesThreads) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  uint64_t counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        ASSERT_EQ(Mutex::Lock(storage(), Deadline::Infinite()), LockResult::kAcquired);
        counter = counter + 1;
        Mutex::Unlock(storage());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kRounds);
  EXPECT_EQ(word(), 0u);
}

TEST_F(OwnerWordMutexTest, DeadOwnerIsTakenOverAfterAProbe) {
  ScriptedProbe::dead_tid = 999;
  set_word(OwnerWord::Of({999, 3}) | OwnerWord::kWaiters);
  ASSERT_EQ(Mutex::Lock(storage(), Deadline::After(absl::Seconds(10))), LockResult::kAcquiredOwnerDied);
  EXPECT_EQ(word(), OwnerWord::Of(ScriptedProbe::Self()) | OwnerWord::kInconsistent | OwnerWord::kWaiters);
  EXPECT_EQ(ScriptedProbe::probes.load(), 1);
  Mutex::MarkConsistent(storage());
  EXPECT_EQ(word() & OwnerWord::kInconsistent, 0u);
  Mutex::Unlock(storage());
  EXPECT_EQ(Mutex::Lock(storage(), Deadline::Infinite()), LockResult::kAcquired);
  Mutex::Unlock(storage());
}

// Only a definite death hands the lock on: an owner the probe cannot judge
// is waited for until the deadline, with probes backing off.
TEST_F(OwnerWordMutexTest, UnknownOwnerTimesOutWithBackedOffProbes) {
  ScriptedProbe::unknown_tid = 555;
  set_word(OwnerWord::Of({555, 3}));
  const int64_t start = Deadline::NowNanos();
  EXPECT_EQ(Mutex::Lock(storage(), Deadline::After(absl::Milliseconds(300))), LockResult::kTimedOut);
  EXPECT_GE(Deadline::NowNanos() - start, 300'000'000);
  // 1 + 2 + 4 + ... + 64 + 64 ... ms: at most 10 probes fit in 300 ms.
  EXPECT_GE(ScriptedProbe::probes.load(), 1);
  EXPECT_LE(ScriptedProbe::probes.load(), 10);
  EXPECT_EQ(word() & ~OwnerWord::kWaiters, OwnerWord::Of({555, 3})) << "the word is left alone";
}

TEST_F(OwnerWordMutexTest, HolderThatDiesWhileWaitedForIsTakenOver) {
  set_word(OwnerWord::Of({777, 3}));
  std::thread killer([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ScriptedProbe::dead_tid = 777;
  });
  EXPECT_EQ(Mutex::Lock(storage(), Deadline::After(absl::Seconds(10))), LockResult::kAcquiredOwnerDied);
  killer.join();
  Mutex::MarkConsistent(storage());
  Mutex::Unlock(storage());
}

// A repairer that dies leaves kInconsistent: the next taker is told again.
TEST_F(OwnerWordMutexTest, RepairerDeathIsReportedAgain) {
  ScriptedProbe::dead_tid = 888;
  set_word(OwnerWord::Of({888, 3}) | OwnerWord::kInconsistent);
  EXPECT_EQ(Mutex::Lock(storage(), Deadline::After(absl::Seconds(10))), LockResult::kAcquiredOwnerDied);
  Mutex::MarkConsistent(storage());
  Mutex::Unlock(storage());
}

TEST_F(OwnerWordMutexTest, AbandonedRepairPoisonsUntilInit) {
  set_word(OwnerWord::kInconsistent);
  ASSERT_EQ(Mutex::Lock(storage(), Deadline::Infinite()), LockResult::kAcquiredOwnerDied);
  Mutex::Unlock(storage());
  EXPECT_EQ(Mutex::Lock(storage(), Deadline::Infinite()), LockResult::kCorrupt);
  Mutex::Init(storage());
  EXPECT_EQ(Mutex::Lock(storage(), Deadline::Infinite()), LockResult::kAcquired);
  Mutex::Unlock(storage());
}

TEST_F(OwnerWordMutexTest, PassedDeadlineIsATryLock) {
  ASSERT_EQ(Mutex::Lock(storage(), Deadline::FromMonotonicNanos(0)), LockResult::kAcquired);
  std::thread other([&] {
    EXPECT_EQ(Mutex::Lock(storage(), Deadline::FromMonotonicNanos(0)), LockResult::kTimedOut);
  });
  other.join();
  Mutex::Unlock(storage());
  EXPECT_EQ(ScriptedProbe::probes.load(), 0);
}

TEST_F(OwnerWordMutexTest, BadMagicIsCorrupt) {
  static_cast<unsigned char*>(storage())[Mutex::kMagicOffset] ^= 1;
  EXPECT_EQ(Mutex::Lock(storage(), Deadline::Infinite()), LockResult::kCorrupt);
}

}  // namespace
}  // namespace sysv::core

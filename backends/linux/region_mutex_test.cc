#include "backends/linux/region_mutex.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "backends/linux/lock_owner_probe.h"
#include "core/deadline.h"
#include "core/owner_word_mutex.h"
#include "core/shared_mutex.h"
#include "core/testing/shared_mutex_conformance.h"
#include "gtest/gtest.h"

// gtest requires the instantiation in the suite's namespace.
namespace sysv::core::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(OwnerWord, SharedMutexConformanceTest,
                               ::sysv::linux_backend::RegionMutex);
}  // namespace sysv::core::testing

namespace sysv::linux_backend {
namespace {

using ::sysv::core::Deadline;
using ::sysv::core::LockOwner;
using ::sysv::core::LockResult;
using ::sysv::core::LockResultName;
using ::sysv::core::OwnerLiveness;
using ::sysv::core::OwnerWord;
namespace internal = ::sysv::core::testing::shared_mutex_conformance_internal;

constexpr absl::Duration kPatience = absl::Seconds(10);
constexpr absl::Duration kShortWait = absl::Milliseconds(100);

Deadline Soon() { return Deadline::After(kShortWait); }
Deadline Later() { return Deadline::After(kPatience); }

// One mutex in a MAP_SHARED anonymous page, as in a region file's mapping.
class SharedSlot {
 public:
  SharedSlot() {
    memory_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ok()) RegionMutex::Init(memory_);
  }
  ~SharedSlot() {
    if (ok()) munmap(memory_, 4096);
  }
  SharedSlot(const SharedSlot&) = delete;
  SharedSlot& operator=(const SharedSlot&) = delete;

  bool ok() const { return memory_ != MAP_FAILED; }
  void* storage() { return memory_; }
  uint64_t word() { return __atomic_load_n(static_cast<uint64_t*>(memory_), __ATOMIC_SEQ_CST); }
  void set_word(uint64_t value) {
    __atomic_store_n(static_cast<uint64_t*>(memory_), value, __ATOMIC_SEQ_CST);
  }
  std::atomic<uint32_t>& flag() {
    return *reinterpret_cast<std::atomic<uint32_t>*>(static_cast<char*>(memory_) + 2048);
  }

 private:
  void* memory_;
};

uint64_t PidNamespaceInode() {
  struct stat ns;
  return stat("/proc/self/ns/pid", &ns) == 0 ? ns.st_ino : 0;
}

// The identity a live process `pid` (its main thread) would lock under.
std::optional<LockOwner> OwnerOfProcess(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream text;
  text << file.rdbuf();
  const auto stat = LockOwnerProbe::ParseStat(text.str());
  if (!stat.has_value()) return std::nullopt;
  return LockOwner{stat->tid, LockOwnerProbe::TagOf(stat->start_ticks, PidNamespaceInode())};
}

// Locks with a short deadline and releases whatever was acquired.
LockResult LockAndRelease(void* storage, Deadline deadline) {
  const LockResult result = RegionMutex::Lock(storage, deadline);
  if (result == LockResult::kAcquiredOwnerDied) RegionMutex::MarkConsistent(storage);
  if (core::HoldsLock(result)) RegionMutex::Unlock(storage);
  return result;
}

TEST(RegionMutexTest, InitWritesAFreeWordAndTheMagic) {
  SharedSlot slot;
  ASSERT_TRUE(slot.ok());
  EXPECT_EQ(slot.word(), 0u);
  uint32_t magic;
  std::memcpy(&magic, static_cast<char*>(slot.storage()) + RegionMutex::kMagicOffset, 4);
  EXPECT_EQ(magic, RegionMutex::kMagic);
  std::printf("RegionMutex::kName = %s\n", RegionMutex::kName);
}

// The word names the holder and nothing else: no pointer reaches shared
// memory (what the glibc robust mutex could not promise).
TEST(RegionMutexTest, HeldWordIsTheHoldersIdentity) {
  SharedSlot slot;
  ASSERT_EQ(RegionMutex::Lock(slot.storage(), Later()), LockResult::kAcquired);
  const LockOwner self = LockOwnerProbe::Self();
  EXPECT_EQ(self.tid, static_cast<uint32_t>(gettid()));
  EXPECT_EQ(slot.word(), OwnerWord::Of(self));
  const auto stat = OwnerOfProcess(getpid());
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(self, *stat) << "the main thread's tag is its start time and namespace";
  for (size_t i = 16; i < RegionMutex::kStorageSize; ++i) {
    EXPECT_EQ(static_cast<unsigned char*>(slot.storage())[i], 0) << "byte " << i;
  }
  RegionMutex::Unlock(slot.storage());
  EXPECT_EQ(slot.word(), 0u);
}

TEST(RegionMutexTest, ParseStatReadsTheFieldsAfterTheLastParenthesis) {
  const std::string stat =
      "4242 (a (tricky) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
      "987654 1000 10 18446744073709551615";
  const auto parsed = LockOwnerProbe::ParseStat(stat);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->tid, 4242u);
  EXPECT_EQ(parsed->state, 'S');
  EXPECT_EQ(parsed->start_ticks, 987654u);
  EXPECT_FALSE(LockOwnerProbe::ParseStat("").has_value());
  EXPECT_FALSE(LockOwnerProbe::ParseStat("12 (x) S 1 2").has_value());
  EXPECT_FALSE(LockOwnerProbe::ParseStat("x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20")
                   .has_value());
}

TEST(RegionMutexTest, ProbeSeesThreadsComeAndGo) {
  EXPECT_EQ(LockOwnerProbe::Probe(LockOwnerProbe::Self()), OwnerLiveness::kAlive);
  LockOwner other;
  std::thread thread([&other] { other = LockOwnerProbe::Self(); });
  thread.join();
  EXPECT_NE(other.tid, LockOwnerProbe::Self().tid);
  // The thread has exited: its TID has no /proc entry (or a new thread with
  // a different start time got it).
  EXPECT_EQ(LockOwnerProbe::Probe(other), OwnerLiveness::kDead);
  // The same TID with another start time is a different thread.
  LockOwner reused = LockOwnerProbe::Self();
  reused.tag ^= 1;
  EXPECT_EQ(LockOwnerProbe::Probe(reused), OwnerLiveness::kDead);
  // Another PID namespace's thread cannot be judged.
  LockOwner foreign = other;
  foreign.tag ^= 1u << 31;
  EXPECT_EQ(LockOwnerProbe::Probe(foreign), OwnerLiveness::kUnknown);
}

// A word naming a live process (init) is a live holder: a timeout, at the
// deadline.
TEST(RegionMutexTest, WordNamingALiveProcessTimesOut) {
  SharedSlot slot;
  const auto init = OwnerOfProcess(1);
  ASSERT_TRUE(init.has_value());
  slot.set_word(OwnerWord::Of(*init));
  const int64_t start = Deadline::NowNanos();
  EXPECT_EQ(RegionMutex::Lock(slot.storage(), Soon()), LockResult::kTimedOut);
  EXPECT_GE(Deadline::NowNanos() - start, absl::ToInt64Nanoseconds(kShortWait));
}

// Words a scribbler could write, and what each gives (the contract allows
// any result; these are the documented ones).
TEST(RegionMutexTest, ScribbledWordsGiveTheDocumentedResults) {
  SharedSlot slot;
  const auto init = OwnerOfProcess(1);
  ASSERT_TRUE(init.has_value());
  LockOwner stale = *init;
  stale.tag ^= 1;  // init's TID, another start time: a reused TID
  LockOwner foreign = *init;
  foreign.tag ^= 1u << 31;  // another namespace's thread
  struct Case {
    const char* what;
    uint64_t word;
    LockResult expected;
  } cases[] = {
      {"a TID no thread has", OwnerWord::Of({OwnerWord::kTidMask - 1, init->tag}),
       LockResult::kAcquiredOwnerDied},
      {"a reused TID", OwnerWord::Of(stale), LockResult::kAcquiredOwnerDied},
      {"our own identity", OwnerWord::Of(LockOwnerProbe::Self()), LockResult::kAcquiredOwnerDied},
      {"free but inconsistent", OwnerWord::kInconsistent | OwnerWord::kWaiters,
       LockResult::kAcquiredOwnerDied},
      {"free with waiters", OwnerWord::kWaiters, LockResult::kAcquired},
      {"free with a garbage tag", uint64_t{0xdead'beef} << 32, LockResult::kAcquired},
      {"another namespace's holder", OwnerWord::Of(foreign), LockResult::kTimedOut},
      {"not recoverable", OwnerWord::kTidNotRecoverable | OwnerWord::kWaiters, LockResult::kCorrupt},
      {"all ones", ~uint64_t{0}, LockResult::kCorrupt},
  };
  for (const Case& c : cases) {
    RegionMutex::Init(slot.storage());
    slot.set_word(c.word);
    const int64_t start = Deadline::NowNanos();
    const LockResult result = LockAndRelease(slot.storage(), Soon());
    const double ms = static_cast<double>(Deadline::NowNanos() - start) / 1e6;
    std::printf("%s: %s after %.2f ms\n", c.what, LockResultName(result), ms);
    EXPECT_EQ(result, c.expected) << c.what << ": " << LockResultName(result);
    if (core::HoldsLock(c.expected)) {
      EXPECT_EQ(LockAndRelease(slot.storage(), Soon()), LockResult::kAcquired)
          << c.what << ": healthy again after the repair";
    }
  }
}

// The daemon's lock (TryLockOrTakeOver) never waits: a live or unknown
// holder is busy at once, a dead one's lock is taken over at once (where
// Lock would probe only after a sleep), a free one is taken.
TEST(RegionMutexTest, TryLockOrTakeOverNeverWaits) {
  SharedSlot slot;
  const auto init = OwnerOfProcess(1);
  ASSERT_TRUE(init.has_value());
  LockOwner foreign = *init;
  foreign.tag ^= 1u << 31;
  LockOwner gone;
  std::thread thread([&gone] { gone = LockOwnerProbe::Self(); });
  thread.join();
  struct Case {
    const char* what;
    uint64_t word;
    LockResult expected;
  } cases[] = {
      {"free", 0, LockResult::kAcquired},
      {"a live holder", OwnerWord::Of(*init), LockResult::kTimedOut},
      {"another namespace's holder", OwnerWord::Of(foreign), LockResult::kTimedOut},
      {"a dead holder", OwnerWord::Of(gone) | OwnerWord::kWaiters, LockResult::kAcquiredOwnerDied},
      {"not recoverable", OwnerWord::kTidNotRecoverable, LockResult::kCorrupt},
  };
  for (const Case& c : cases) {
    RegionMutex::Init(slot.storage());
    slot.set_word(c.word);
    const int64_t start = Deadline::NowNanos();
    const LockResult result = RegionMutex::TryLockOrTakeOver(slot.storage());
    const int64_t took = Deadline::NowNanos() - start;
    if (result == LockResult::kAcquiredOwnerDied) RegionMutex::MarkConsistent(slot.storage());
    if (core::HoldsLock(result)) RegionMutex::Unlock(slot.storage());
    EXPECT_EQ(result, c.expected) << c.what << ": " << LockResultName(result);
    // No sleep: well under Lock's first probe interval, however loaded the
    // machine (a generous bound, not a measurement).
    EXPECT_LT(took, absl::ToInt64Nanoseconds(kShortWait)) << c.what;
    if (c.expected == LockResult::kTimedOut) {
      EXPECT_EQ(slot.word(), c.word) << c.what << ": a busy try leaves the word as it was";
    }
  }
}

// After a long wait, a waiter may take the lock from a holder the probe
// cannot see (another PID namespace, or a word forged to look like one),
// never from one it sees alive (a stopped holder is waited for), and never
// when the holder changed since it looked.
TEST(RegionMutexTest, TakeOverUnseenTakesOnlyAnUnseenHolder) {
  SharedSlot slot;
  const auto init = OwnerOfProcess(1);
  ASSERT_TRUE(init.has_value());
  LockOwner foreign = *init;
  foreign.tag ^= 1u << 31;
  const core::SharedMutexOps ops = core::SharedMutexOpsFor<RegionMutex>();
  ASSERT_NE(ops.holder, nullptr);
  ASSERT_NE(ops.take_over_unseen, nullptr);

  RegionMutex::Init(slot.storage());
  slot.set_word(OwnerWord::Of(*init) | OwnerWord::kWaiters);
  const uint64_t live = ops.holder(slot.storage());
  EXPECT_EQ(live, OwnerWord::Of(*init)) << "the holder without the flags";
  EXPECT_EQ(ops.take_over_unseen(slot.storage(), live), LockResult::kTimedOut) << "a live holder is kept";

  RegionMutex::Init(slot.storage());
  slot.set_word(OwnerWord::Of(foreign));
  EXPECT_EQ(ops.take_over_unseen(slot.storage(), live), LockResult::kTimedOut) << "not the holder looked at";
  const uint64_t unseen = ops.holder(slot.storage());
  ASSERT_EQ(ops.take_over_unseen(slot.storage(), unseen), LockResult::kAcquiredOwnerDied);
  RegionMutex::MarkConsistent(slot.storage());
  RegionMutex::Unlock(slot.storage());
  EXPECT_EQ(ops.holder(slot.storage()), 0u) << "free again";
  EXPECT_EQ(LockAndRelease(slot.storage(), Soon()), LockResult::kAcquired) << "healthy after the take-over";
}

// A holder killed and not reaped is a zombie: dead, though its /proc entry
// stays until its parent waits for it.
TEST(RegionMutexTest, ZombieHolderIsDead) {
  SharedSlot slot;
  const pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    if (RegionMutex::Lock(slot.storage(), Later()) != LockResult::kAcquired) _exit(1);
    slot.flag().store(1);
    for (;;) pause();
  }
  while (slot.flag().load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(kill(holder, SIGKILL), 0);
  // Wait for the zombie without reaping it.
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, holder, &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(LockAndRelease(slot.storage(), Later()), LockResult::kAcquiredOwnerDied);
  const int status = internal::WaitForChild(holder);
  EXPECT_TRUE(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

// A child of a process that holds the lock starts with an empty record and
// its own identity (the probe's fork handler).
TEST(RegionMutexTest, ForkedChildLocksUnderItsOwnIdentity) {
  SharedSlot slot;
  const LockOwner parent = LockOwnerProbe::Self();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const LockOwner self = LockOwnerProbe::Self();
    if (self.tid != static_cast<uint32_t>(getpid()) || self == parent) _exit(1);
    if (RegionMutex::Lock(slot.storage(), Later()) != LockResult::kAcquired) _exit(2);
    const bool named = (slot.word() & ~OwnerWord::kWaiters) == OwnerWord::Of(self);
    RegionMutex::Unlock(slot.storage());
    _exit(named ? 0 : 3);
  }
  EXPECT_TRUE(internal::ExitedWith(internal::WaitForChild(child), 0));
}

TEST(RegionMutexDeathTest, UnlockWithoutHoldingAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SharedSlot slot;
  EXPECT_DEATH(RegionMutex::Unlock(slot.storage()), "does not hold");
}

TEST(RegionMutexDeathTest, RelockByTheHolderAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SharedSlot slot;
  EXPECT_DEATH(
      {
        (void)RegionMutex::Lock(slot.storage(), Later());
        (void)RegionMutex::Lock(slot.storage(), Later());
      },
      "this thread holds");
}

TEST(RegionMutexDeathTest, MarkConsistentWithoutOwnerDeathAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SharedSlot slot;
  EXPECT_DEATH(
      {
        (void)RegionMutex::Lock(slot.storage(), Later());
        RegionMutex::MarkConsistent(slot.storage());
      },
      "without kAcquiredOwnerDied");
}

}  // namespace
}  // namespace sysv::linux_backend

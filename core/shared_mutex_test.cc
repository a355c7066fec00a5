// Compile-time and portable checks of the SharedMutex contract. The behaviour
// of each real mutex is checked by the conformance suite
// (core/testing/shared_mutex_conformance.h) in its backend's test.
#include "core/shared_mutex.h"

#include <cstddef>
#include <string>

#include "core/deadline.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

// A scripted mutex: records its calls and returns what it is told.
struct FakeMutex {
  static constexpr char kName[] = "fake";
  static constexpr size_t kStorageSize = 8;
  static constexpr size_t kStorageAlign = 8;
  static inline LockResult next_result = LockResult::kAcquired;
  static inline int inits = 0, locks = 0, unlocks = 0, repairs = 0;
  static inline void* last_storage = nullptr;

  static void Init(void* storage) {
    ++inits;
    last_storage = storage;
  }
  static LockResult Lock(void* storage, Deadline) {
    ++locks;
    last_storage = storage;
    return next_result;
  }
  static void Unlock(void*) { ++unlocks; }
  static void MarkConsistent(void*) { ++repairs; }
};

struct TooBig : FakeMutex {
  static constexpr size_t kStorageSize = kSharedMutexReservedSize + 1;
};
struct OverAligned : FakeMutex {
  static constexpr size_t kStorageAlign = 2 * kSharedMutexReservedAlign;
};
struct OddAlignment : FakeMutex {
  static constexpr size_t kStorageAlign = 24;
};
struct BoolLock : FakeMutex {
  static bool Lock(void*, Deadline) { return true; }
};
struct NoMarkConsistent {
  static constexpr char kName[] = "no repair";
  static constexpr size_t kStorageSize = 8;
  static constexpr size_t kStorageAlign = 8;
  static void Init(void*);
  static LockResult Lock(void*, Deadline);
  static void Unlock(void*);
};

static_assert(SharedMutex<FakeMutex>);
static_assert(!SharedMutex<TooBig>);        // does not fit the region's slot
static_assert(!SharedMutex<OverAligned>);   // the slot is not aligned enough
static_assert(!SharedMutex<OddAlignment>);  // not a power of two
static_assert(!SharedMutex<BoolLock>);      // a bool cannot say "owner died"
static_assert(!SharedMutex<NoMarkConsistent>);

TEST(SharedMutexTest, OpsForwardToTheType) {
  constexpr SharedMutexOps ops = SharedMutexOpsFor<FakeMutex>();
  alignas(8) unsigned char storage[8];
  ops.init(storage);
  EXPECT_EQ(FakeMutex::inits, 1);
  FakeMutex::next_result = LockResult::kAcquiredOwnerDied;
  EXPECT_EQ(ops.lock(storage, Deadline::Infinite()),
            LockResult::kAcquiredOwnerDied);
  EXPECT_EQ(FakeMutex::last_storage, storage);
  ops.mark_consistent(storage);
  ops.unlock(storage);
  EXPECT_EQ(FakeMutex::repairs, 1);
  EXPECT_EQ(FakeMutex::unlocks, 1);
  EXPECT_STREQ(ops.name, "fake");
}

TEST(SharedMutexTest, NamesEveryResult) {
  EXPECT_EQ(std::string(LockResultName(LockResult::kAcquired)), "acquired");
  EXPECT_EQ(std::string(LockResultName(LockResult::kAcquiredOwnerDied)),
            "acquired, owner died");
  EXPECT_EQ(std::string(LockResultName(LockResult::kTimedOut)), "timed out");
  EXPECT_EQ(std::string(LockResultName(LockResult::kCorrupt)), "corrupt");
}

TEST(SharedMutexTest, OnlyAcquiredResultsHoldTheLock) {
  EXPECT_TRUE(HoldsLock(LockResult::kAcquired));
  EXPECT_TRUE(HoldsLock(LockResult::kAcquiredOwnerDied));
  EXPECT_FALSE(HoldsLock(LockResult::kTimedOut));
  EXPECT_FALSE(HoldsLock(LockResult::kCorrupt));
}

}  // namespace
}  // namespace sysv::core

// Compile-time and portable checks of the Waiter contract. The behaviour of
// each real waiter is checked by the conformance suite
// (core/testing/waiter_conformance.h) in its backend's test.
#include "core/waiter.h"

#include <atomic>
#include <climits>
#include <cstdint>

#include "core/deadline.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

// A scripted waiter: records its calls and returns what it is told.
struct FakeWaiter {
  static constexpr char kName[] = "fake";
  static inline WaitResult next_result = WaitResult::kWoken;
  static inline int waits = 0;
  static inline int last_wake_count = 0;

  static WaitResult Wait(const std::atomic<uint32_t>*, uint32_t, Deadline) {
    ++waits;
    return next_result;
  }
  static void Wake(const std::atomic<uint32_t>*, int count) {
    last_wake_count = count;
  }
};

struct MissingWake {
  static constexpr char kName[] = "missing wake";
  static WaitResult Wait(const std::atomic<uint32_t>*, uint32_t, Deadline) {
    return WaitResult::kWoken;
  }
};

struct BoolWait {
  static constexpr char kName[] = "bool wait";
  static bool Wait(const std::atomic<uint32_t>*, uint32_t, Deadline) {
    return true;
  }
  static void Wake(const std::atomic<uint32_t>*, int) {}
};

struct NonStatic {
  static constexpr char kName[] = "non-static";
  WaitResult Wait(const std::atomic<uint32_t>*, uint32_t, Deadline);
  void Wake(const std::atomic<uint32_t>*, int);
};

static_assert(Waiter<FakeWaiter>);
static_assert(!Waiter<MissingWake>);
static_assert(!Waiter<BoolWait>);  // a bool cannot say "interrupted"
static_assert(!Waiter<NonStatic>);

TEST(WaiterTest, WaiterOpsForwardsToTheType) {
  constexpr WaiterOps ops = WaiterOpsFor<FakeWaiter>();
  std::atomic<uint32_t> word{0};
  FakeWaiter::waits = 0;
  FakeWaiter::next_result = WaitResult::kInterrupted;
  EXPECT_EQ(ops.wait(&word, 0, Deadline::Infinite()),
            WaitResult::kInterrupted);
  EXPECT_EQ(FakeWaiter::waits, 1);
  ops.wake(&word, INT_MAX);
  EXPECT_EQ(FakeWaiter::last_wake_count, INT_MAX);
  EXPECT_STREQ(ops.name, "fake");
}

TEST(WaiterTest, ResultsHaveNames) {
  EXPECT_STREQ(WaitResultName(WaitResult::kWoken), "woken");
  EXPECT_STREQ(WaitResultName(WaitResult::kTimedOut), "timed out");
  EXPECT_STREQ(WaitResultName(WaitResult::kInterrupted), "interrupted");
}

}  // namespace
}  // namespace sysv::core

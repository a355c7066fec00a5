#include "backends/linux/futex_waiter.h"

#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstdio>

#include "core/deadline.h"
#include "core/testing/waiter_conformance.h"
#include "core/waiter.h"
#include "gtest/gtest.h"

// gtest requires the instantiation in the suite's namespace.
namespace sysv::core::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Futex, WaiterConformanceTest,
                               ::sysv::linux_backend::FutexWaiter);
}  // namespace sysv::core::testing

namespace sysv::linux_backend {
namespace {

using ::sysv::core::Deadline;

TEST(FutexWaiterTest, PrintsName) {
  std::printf("FutexWaiter::kName = %s\n", FutexWaiter::kName);
  EXPECT_STREQ(FutexWaiter::kName, "futex");
}

// FutexWaiter hands Deadline's nanoseconds to the kernel as an absolute
// CLOCK_MONOTONIC time; core/ reads them from std::chrono::steady_clock. This
// holds only if the two are the same clock.
TEST(FutexWaiterTest, DeadlineClockIsClockMonotonic) {
  struct timespec before, after;
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &before), 0);
  const int64_t now = Deadline::NowNanos();
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &after), 0);
  const int64_t lo = int64_t{before.tv_sec} * 1'000'000'000 + before.tv_nsec;
  const int64_t hi = int64_t{after.tv_sec} * 1'000'000'000 + after.tv_nsec;
  EXPECT_LE(lo, now);
  EXPECT_LE(now, hi);
}

TEST(FutexWaiterTest, WorksThroughWaiterOps) {
  constexpr sysv::core::WaiterOps ops =
      sysv::core::WaiterOpsFor<FutexWaiter>();
  std::atomic<uint32_t> word{1};
  EXPECT_EQ(ops.wait(&word, 0, Deadline::Infinite()),
            sysv::core::WaitResult::kWoken);
  ops.wake(&word, 1);
  EXPECT_STREQ(ops.name, "futex");
}

}  // namespace
}  // namespace sysv::linux_backend

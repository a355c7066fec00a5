#include "core/deadline.h"

#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

TEST(DeadlineTest, InfiniteNeverExpires) {
  const Deadline deadline = Deadline::Infinite();
  EXPECT_TRUE(deadline.is_infinite());
  EXPECT_FALSE(deadline.HasExpired());
  EXPECT_EQ(deadline.RemainingNanos(), Deadline::kInfiniteNanos);
  EXPECT_EQ(deadline.monotonic_nanos(), Deadline::kInfiniteNanos);
}

TEST(DeadlineTest, AfterInfiniteDurationIsInfinite) {
  EXPECT_TRUE(Deadline::After(absl::InfiniteDuration()).is_infinite());
}

TEST(DeadlineTest, AfterHugeDurationSaturatesToInfinite) {
  EXPECT_TRUE(Deadline::After(absl::Hours(24 * 365 * 1000)).is_infinite());
  EXPECT_TRUE(Deadline::After(absl::Nanoseconds(Deadline::kInfiniteNanos))
                  .is_infinite());
}

TEST(DeadlineTest, AfterZeroOrNegativeHasAlreadyExpired) {
  EXPECT_TRUE(Deadline::After(absl::ZeroDuration()).HasExpired());
  EXPECT_TRUE(Deadline::After(absl::Seconds(-5)).HasExpired());
  EXPECT_TRUE(Deadline::After(-absl::InfiniteDuration()).HasExpired());
  EXPECT_EQ(Deadline::After(absl::Seconds(-5)).RemainingNanos(), 0);
}

TEST(DeadlineTest, AfterIsAbsoluteFromNow) {
  const int64_t before = Deadline::NowNanos();
  const Deadline deadline = Deadline::After(absl::Seconds(10));
  const int64_t after = Deadline::NowNanos();
  EXPECT_FALSE(deadline.is_infinite());
  EXPECT_GE(deadline.monotonic_nanos(), before + 10'000'000'000);
  EXPECT_LE(deadline.monotonic_nanos(), after + 10'000'000'000);
  EXPECT_GT(deadline.RemainingNanos(), 9'000'000'000);
  EXPECT_LE(deadline.RemainingNanos(), 10'000'000'000);
}

TEST(DeadlineTest, RemainingShrinksAsTimePasses) {
  const Deadline deadline = Deadline::After(absl::Milliseconds(20));
  const int64_t first = deadline.RemainingNanos();
  absl::SleepFor(absl::Milliseconds(30));
  EXPECT_EQ(deadline.RemainingNanos(), 0);
  EXPECT_GT(first, 0);
  EXPECT_TRUE(deadline.HasExpired());
}

TEST(DeadlineTest, FromMonotonicNanosClampsNegative) {
  EXPECT_EQ(Deadline::FromMonotonicNanos(-7).monotonic_nanos(), 0);
  EXPECT_EQ(Deadline::FromMonotonicNanos(1234).monotonic_nanos(), 1234);
  EXPECT_TRUE(Deadline::FromMonotonicNanos(Deadline::kInfiniteNanos)
                  .is_infinite());
  EXPECT_TRUE(Deadline::FromMonotonicNanos(0).HasExpired());
}

TEST(DeadlineTest, OrdersByInstant) {
  EXPECT_LT(Deadline::FromMonotonicNanos(1), Deadline::FromMonotonicNanos(2));
  EXPECT_LT(Deadline::FromMonotonicNanos(2), Deadline::Infinite());
  EXPECT_EQ(Deadline::FromMonotonicNanos(5), Deadline::FromMonotonicNanos(5));
}

TEST(DeadlineTest, NowIsMonotonic) {
  const int64_t a = Deadline::NowNanos();
  const int64_t b = Deadline::NowNanos();
  EXPECT_GE(a, 0);
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace sysv::core

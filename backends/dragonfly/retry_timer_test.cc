// RetryTimer over EVFILT_TIMER (retry_timer.h), against the kqueue double.
#include "backends/dragonfly/retry_timer.h"

#include <poll.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

bool Readable(int fd, int timeout_ms) {
  struct pollfd ready = {fd, POLLIN, 0};
  return poll(&ready, 1, timeout_ms) == 1;
}

TEST(RetryTimerTest, ExpiresOnceAfterTheDelay) {
  absl::StatusOr<RetryTimer> timer = RetryTimer::Create();
  ASSERT_TRUE(timer.ok()) << timer.status();
  EXPECT_FALSE(timer->armed());
  EXPECT_FALSE(Readable(timer->fd(), 0));
  const absl::Time start = absl::Now();
  timer->Arm(absl::Milliseconds(30));
  EXPECT_TRUE(timer->armed());
  EXPECT_FALSE(Readable(timer->fd(), 0));
  ASSERT_TRUE(Readable(timer->fd(), 5000));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(29));
  EXPECT_TRUE(Readable(timer->fd(), 0)) << "readable until acknowledged";
  timer->Acknowledge();
  EXPECT_FALSE(timer->armed());
  EXPECT_FALSE(Readable(timer->fd(), 100)) << "one-shot";
}

TEST(RetryTimerTest, ArmReplacesAndAcknowledgeCancels) {
  absl::StatusOr<RetryTimer> timer = RetryTimer::Create();
  ASSERT_TRUE(timer.ok());
  timer->Arm(absl::Seconds(60));
  timer->Arm(absl::Microseconds(1));  // rounded up to a millisecond
  EXPECT_TRUE(Readable(timer->fd(), 5000));
  timer->Acknowledge();
  timer->Arm(absl::Milliseconds(50));
  timer->Acknowledge();
  EXPECT_FALSE(Readable(timer->fd(), 150)) << "cancelled before it expired";
}

}  // namespace
}  // namespace sysv::dragonfly_backend

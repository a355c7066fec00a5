#include "backends/linux/retry_timer.h"

#include <poll.h>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sysv::linux_backend {
namespace {

bool Readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

TEST(RetryTimerTest, ExpiresOnceAfterArm) {
  absl::StatusOr<RetryTimer> timer = RetryTimer::Create();
  ASSERT_TRUE(timer.ok()) << timer.status();
  EXPECT_FALSE(timer->armed());
  EXPECT_FALSE(Readable(timer->fd(), 0));
  timer->Arm(absl::Milliseconds(1));
  EXPECT_TRUE(timer->armed());
  EXPECT_TRUE(Readable(timer->fd(), 10'000));
  timer->Acknowledge();
  EXPECT_FALSE(timer->armed());
  EXPECT_FALSE(Readable(timer->fd(), 50)) << "one-shot: no second expiry";
  // A zero delay still expires (an all-zero arming would disarm).
  timer->Arm(absl::ZeroDuration());
  EXPECT_TRUE(Readable(timer->fd(), 10'000));
  timer->Acknowledge();
  timer->Acknowledge();  // nothing to consume: harmless
  EXPECT_FALSE(Readable(timer->fd(), 0));
}

}  // namespace
}  // namespace sysv::linux_backend

#include "backends/linux/retry_timer.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

absl::StatusOr<RetryTimer> RetryTimer::Create() {
  const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return core::ErrnoStatus(errno, "timerfd_create");
  return RetryTimer(backend::UniqueFd(fd));
}

void RetryTimer::Arm(absl::Duration delay) {
  // An all-zero it_value would disarm the timer instead.
  const int64_t nanos = std::max<int64_t>(absl::ToInt64Nanoseconds(delay), 1);
  struct itimerspec spec = {};
  spec.it_value.tv_sec = nanos / 1'000'000'000;
  spec.it_value.tv_nsec = nanos % 1'000'000'000;
  // Only EINVAL/EBADF, neither possible with our own descriptor and value.
  timerfd_settime(fd_.get(), 0, &spec, nullptr);
  armed_ = true;
}

void RetryTimer::Acknowledge() {
  uint64_t expirations = 0;
  // EAGAIN: not expired (a spurious call); nothing to consume.
  if (read(fd_.get(), &expirations, sizeof(expirations)) < 0) expirations = 0;
  armed_ = false;
}

}  // namespace sysv::linux_backend

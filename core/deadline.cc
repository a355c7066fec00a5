#include "core/deadline.h"

#include <chrono>
#include <cstdint>

namespace sysv::core {

int64_t Deadline::NowNanos() {
  // steady_clock is CLOCK_MONOTONIC on the platforms we build for; see the
  // file comment in deadline.h.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Deadline Deadline::After(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return Infinite();
  const int64_t now = NowNanos();
  if (timeout <= absl::ZeroDuration()) return FromMonotonicNanos(now);
  // ToInt64Nanoseconds saturates at INT64_MAX for durations too long to
  // count in nanoseconds, so the only overflow left is in the addition.
  const int64_t relative = absl::ToInt64Nanoseconds(timeout);
  if (relative >= kInfiniteNanos - now) return Infinite();
  return FromMonotonicNanos(now + relative);
}

int64_t Deadline::RemainingNanos() const {
  if (is_infinite()) return kInfiniteNanos;
  const int64_t now = NowNanos();
  return nanos_ > now ? nanos_ - now : 0;
}

}  // namespace sysv::core

// Deadline: when a blocking operation must give up, as one absolute instant.
//
// A deadline is stored as an absolute time on CLOCK_MONOTONIC, in nanoseconds,
// never as a relative timeout. A wait may return early (a spurious wakeup, a
// wake meant for a different waiter, a value that changed and changed back);
// the caller then waits again, and with a relative timeout it would have to
// subtract the time already spent, which drifts and is easy to forget. An
// absolute deadline is simply passed again. It is converted to what each OS
// call takes (an absolute timespec for FUTEX_WAIT_BITSET, relative
// microseconds for DragonFly's umtx_sleep) only at the call, by the backend.
//
// The monotonic clock is the one semtimedop(2) measures its timeout on; it
// does not jump when the wall clock is set. core/ has no OS headers, so "now"
// comes from std::chrono::steady_clock, which libstdc++ and libc++ implement
// with clock_gettime(CLOCK_MONOTONIC) on Linux and the BSDs; backends that
// hand the value to the kernel rely on that, and futex_waiter_test checks it.
#ifndef SYSV_CORE_DEADLINE_H_
#define SYSV_CORE_DEADLINE_H_

#include <compare>
#include <cstdint>
#include <limits>

#include "absl/time/time.h"

namespace sysv::core {

class Deadline {
 public:
  // The sentinel for "never": the largest representable instant (about 292
  // years after boot), so comparisons need no special case and the value is
  // still a valid absolute timeout for a kernel that wants one.
  static constexpr int64_t kInfiniteNanos = std::numeric_limits<int64_t>::max();

  // A deadline that never passes.
  static constexpr Deadline Infinite() { return Deadline(kInfiniteNanos); }

  // The deadline `timeout` from now. Results:
  //   - absl::InfiniteDuration(), or a duration so long that now + timeout
  //     overflows int64 nanoseconds: Infinite().
  //   - zero or negative: now, a deadline that has already passed (a
  //     semtimedop with a zero timeout still tries the operation once).
  //   - otherwise now + timeout, with the duration truncated to nanoseconds.
  static Deadline After(absl::Duration timeout);

  // A deadline at `nanos` on CLOCK_MONOTONIC. Negative values are clamped to
  // 0 (long passed); kInfiniteNanos gives Infinite().
  static constexpr Deadline FromMonotonicNanos(int64_t nanos) {
    return Deadline(nanos < 0 ? 0 : nanos);
  }

  // The current CLOCK_MONOTONIC time in nanoseconds.
  static int64_t NowNanos();

  constexpr bool is_infinite() const { return nanos_ == kInfiniteNanos; }

  // The absolute instant on CLOCK_MONOTONIC, in nanoseconds; kInfiniteNanos
  // for Infinite(). Backends convert this for their OS call.
  constexpr int64_t monotonic_nanos() const { return nanos_; }

  // Nanoseconds left until the deadline. Results: kInfiniteNanos for an
  // infinite deadline; 0 once the deadline has passed; otherwise the
  // positive difference from now.
  int64_t RemainingNanos() const;

  // True once the deadline has passed (never for Infinite()).
  bool HasExpired() const { return RemainingNanos() == 0; }

  friend constexpr bool operator==(Deadline, Deadline) = default;
  friend constexpr auto operator<=>(Deadline, Deadline) = default;

 private:
  explicit constexpr Deadline(int64_t nanos) : nanos_(nanos) {}

  int64_t nanos_;  // absolute CLOCK_MONOTONIC nanoseconds, >= 0
};

}  // namespace sysv::core

#endif  // SYSV_CORE_DEADLINE_H_

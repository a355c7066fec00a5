// RetryTimer on DragonFly: the daemon's one-shot timer for work postponed
// on a busy lock (the role of backends/linux/retry_timer.h, a timerfd). A
// kqueue of its own with one EVFILT_TIMER note: the kqueue is readable
// while the expiry is pending, so the event loop watches it as it would a
// timerfd. EVFILT_TIMER counts in milliseconds (filt_timerreset()), so a
// delay is rounded up to a whole millisecond.
//
// Portable over kqueue_sys.h: tested on Linux against its double.
#ifndef SYSV_BACKENDS_DRAGONFLY_RETRY_TIMER_H_
#define SYSV_BACKENDS_DRAGONFLY_RETRY_TIMER_H_

#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sysv::dragonfly_backend {

class RetryTimer {
 public:
  // Results: the timer, disarmed; or the errno of kqueue().
  static absl::StatusOr<RetryTimer> Create();

  RetryTimer(RetryTimer&& other) noexcept
      : kq_(std::exchange(other.kq_, -1)), armed_(std::exchange(other.armed_, false)) {}
  RetryTimer& operator=(RetryTimer&& other) noexcept;
  RetryTimer(const RetryTimer&) = delete;
  RetryTimer& operator=(const RetryTimer&) = delete;
  ~RetryTimer();

  // Readable once an armed timer has expired, until Acknowledge().
  int fd() const { return kq_; }
  // Expires once, `delay` from now (at least a millisecond), replacing any
  // earlier arming.
  void Arm(absl::Duration delay);
  // Consumes the expiry; the timer is disarmed until the next Arm().
  void Acknowledge();
  bool armed() const { return armed_; }

 private:
  explicit RetryTimer(int kq) : kq_(kq) {}
  int kq_ = -1;  // owned; closed through KqueueClose()
  bool armed_ = false;
};

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_RETRY_TIMER_H_

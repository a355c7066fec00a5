// RetryTimer: a one-shot timer the event loop watches (a timerfd), for work
// the daemon retries in the background: exit work and requests that found an
// object's lock busy (DESIGN.md "Trust model", rule 5). The loop calls back
// when the descriptor is readable, so a retry runs between requests, never
// in front of one.
#ifndef SYSV_BACKENDS_LINUX_RETRY_TIMER_H_
#define SYSV_BACKENDS_LINUX_RETRY_TIMER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

class RetryTimer {
 public:
  // Results: the timer, disarmed; or the errno of timerfd_create.
  static absl::StatusOr<RetryTimer> Create();

  // Readable once an armed timer has expired, until Acknowledge().
  int fd() const { return fd_.get(); }
  // Expires once, `delay` from now (at least a nanosecond), replacing any
  // earlier arming.
  void Arm(absl::Duration delay);
  // Consumes the expiry; the timer is disarmed until the next Arm().
  void Acknowledge();
  bool armed() const { return armed_; }

 private:
  explicit RetryTimer(backend::UniqueFd fd) : fd_(std::move(fd)) {}
  backend::UniqueFd fd_;
  bool armed_ = false;
};

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_RETRY_TIMER_H_

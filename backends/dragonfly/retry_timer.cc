#include "backends/dragonfly/retry_timer.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backends/dragonfly/kqueue_sys.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

// The one timer's ident in its kqueue.
constexpr uintptr_t kTimerIdent = 1;

KEvent TimerChange(uint16_t flags, int64_t millis) {
  KEvent change;
  change.ident = kTimerIdent;
  change.filter = kFilterTimer;
  change.flags = flags;
  change.data = static_cast<intptr_t>(millis);
  return change;
}

}  // namespace

absl::StatusOr<RetryTimer> RetryTimer::Create() {
  const int kq = KqueueOpen();
  if (kq < 0) return core::ErrnoStatus(errno, "kqueue");
  return RetryTimer(kq);
}

RetryTimer& RetryTimer::operator=(RetryTimer&& other) noexcept {
  if (this != &other) {
    if (kq_ >= 0) KqueueClose(kq_);
    kq_ = std::exchange(other.kq_, -1);
    armed_ = std::exchange(other.armed_, false);
  }
  return *this;
}

RetryTimer::~RetryTimer() {
  if (kq_ >= 0) KqueueClose(kq_);
}

void RetryTimer::Arm(absl::Duration delay) {
  const int64_t millis = std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(delay, absl::Milliseconds(1))));
  // EV_ADD of an existing timer restarts it with the new period.
  const KEvent change = TimerChange(kFlagAdd | kFlagOneshot, millis);
  armed_ = Kevent(kq_, &change, 1, nullptr, 0, nullptr) == 0;
}

void RetryTimer::Acknowledge() {
  static constexpr struct timespec kNoWait = {0, 0};
  KEvent events[1];
  while (Kevent(kq_, nullptr, 0, events, 1, &kNoWait) < 0 && errno == EINTR) {
  }
  // A timer that has not expired yet is cancelled, as a timerfd's would be.
  const KEvent change = TimerChange(kFlagDelete, 0);
  (void)Kevent(kq_, &change, 1, nullptr, 0, nullptr);
  armed_ = false;
}

}  // namespace sysv::dragonfly_backend

#include "backends/dragonfly/stop_signals.h"

#include <signal.h>

#include <cerrno>
#include <cstdint>

#include "backends/common/stop_signal_set.h"
#include "backends/dragonfly/kqueue_sys.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {

absl::StatusOr<sysv::backend::UniqueFd> OpenStopSignals() {
  (void)sysv::backend::BlockStopSignals();
  const int kq = KqueueOpen();
  if (kq < 0) return core::ErrnoStatus(errno, "kqueue");
  KEvent changes[2];
  changes[0].ident = SIGTERM;
  changes[1].ident = SIGINT;
  for (KEvent& change : changes) {
    change.filter = kFilterSignal;
    change.flags = kFlagAdd;
  }
  if (Kevent(kq, changes, 2, nullptr, 0, nullptr) != 0) {
    const int err = errno;
    KqueueClose(kq);
    return core::ErrnoStatus(err, "kevent(EVFILT_SIGNAL)");
  }
  return sysv::backend::UniqueFd(kq);
}

}  // namespace sysv::dragonfly_backend

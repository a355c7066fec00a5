#include "backends/linux/stop_signals.h"

#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>

#include "backends/common/stop_signal_set.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

absl::StatusOr<sysv::backend::UniqueFd> OpenStopSignals() {
  const sigset_t stop_signals = sysv::backend::BlockStopSignals();
  sysv::backend::UniqueFd fd(signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return core::ErrnoStatus(errno, "signalfd");
  return fd;
}

}  // namespace sysv::linux_backend

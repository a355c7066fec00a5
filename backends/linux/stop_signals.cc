#include "backends/linux/stop_signals.h"

#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>

#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

absl::StatusOr<sysv::backend::UniqueFd> OpenStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  sysv::backend::UniqueFd fd(signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return core::ErrnoStatus(errno, "signalfd");
  return fd;
}

}  // namespace sysv::linux_backend

// The signals that stop the daemon cleanly (SIGTERM, SIGINT), blocked so
// that each backend's OpenStopSignals() can turn them into a descriptor.
#ifndef SYSV_BACKENDS_COMMON_STOP_SIGNAL_SET_H_
#define SYSV_BACKENDS_COMMON_STOP_SIGNAL_SET_H_

#include <signal.h>

namespace sysv::backend {

// Blocks SIGTERM and SIGINT in the calling thread and returns that set.
inline sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_STOP_SIGNAL_SET_H_

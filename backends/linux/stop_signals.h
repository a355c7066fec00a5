// The daemon's clean stop: SIGTERM and SIGINT, blocked and turned into a
// readable descriptor the event loop watches (a signalfd here; DragonFly's
// is a kqueue with EVFILT_SIGNAL notes).
#ifndef SYSV_BACKENDS_LINUX_STOP_SIGNALS_H_
#define SYSV_BACKENDS_LINUX_STOP_SIGNALS_H_

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

// Blocks SIGTERM and SIGINT in the calling thread (before any other thread
// starts, so in the whole process) and returns a descriptor, close-on-exec
// and non-blocking, readable while one of them is pending. Results: the
// descriptor; the errno of signalfd.
absl::StatusOr<sysv::backend::UniqueFd> OpenStopSignals();

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_STOP_SIGNALS_H_

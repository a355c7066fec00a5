// The daemon's clean stop (the role of backends/linux/stop_signals.h, a
// signalfd): SIGTERM and SIGINT blocked, and a kqueue of their own with an
// EVFILT_SIGNAL note for each, which a posted signal fires even while it is
// blocked (filt_sigattach(); the note records the attempt to deliver). The
// kqueue is readable while a note is pending; the daemon stops then and
// never collects it. Portable over kqueue_sys.h: tested on Linux against
// its double.
#ifndef SYSV_BACKENDS_DRAGONFLY_STOP_SIGNALS_H_
#define SYSV_BACKENDS_DRAGONFLY_STOP_SIGNALS_H_

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::dragonfly_backend {

// Blocks SIGTERM and SIGINT in the calling thread (before any other thread
// starts, so in the whole process) and returns a descriptor readable once
// one of them has been sent. Results: the descriptor; the errno of kqueue()
// or kevent().
absl::StatusOr<sysv::backend::UniqueFd> OpenStopSignals();

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_STOP_SIGNALS_H_

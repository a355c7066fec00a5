// The signal epoch for libsysv's blocking calls: semop/semtimedop now,
// msgsnd/msgrcv next. See backends/<os>/signal_epoch.h for the mechanism
// (and compat/signal_hooks.cc for the wrapped handler installers).
//
// Use: read SignalEpoch() when the call starts; a different value later
// means a signal handler ran on this thread since, and a call that has not
// completed by then fails with EINTR (never restarted). To sleep, pass the
// value read at the start to InterruptibleWait(), which also catches a
// handler that runs in the instant before the futex sleep.
#ifndef SYSV_COMPAT_SIGNAL_EPOCH_H_
#define SYSV_COMPAT_SIGNAL_EPOCH_H_

#include <cstdint>

#include "backends/platform.h"

namespace sysv::compat {

inline uint64_t SignalEpoch() { return platform::SignalEpoch(); }
using platform::InterruptibleWait;

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_SIGNAL_EPOCH_H_

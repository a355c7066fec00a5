// The signal epoch (backends/common/signal_epoch.h explains it) over this
// backend's umtx wait.
#ifndef SYSV_BACKENDS_DRAGONFLY_SIGNAL_EPOCH_H_
#define SYSV_BACKENDS_DRAGONFLY_SIGNAL_EPOCH_H_

#include <atomic>
#include <cstdint>

#include "backends/common/signal_epoch.h"
#include "backends/dragonfly/umtx_waiter.h"
#include "core/deadline.h"
#include "core/waiter.h"

namespace sysv::dragonfly_backend {

using ::sysv::backend::EscapeInterruptibleWait;
using ::sysv::backend::NoteSignalHandled;
using ::sysv::backend::SignalEpoch;

// UmtxWaiter::Wait(), interrupted by any handler since `since`. umtx_sleep
// itself reports a signal as EINTR (never restarted), as the futex does.
inline sysv::core::WaitResult InterruptibleWait(const std::atomic<uint32_t>* word, uint32_t expected,
                                                sysv::core::Deadline deadline, uint64_t since) {
  return sysv::backend::InterruptibleWaitWith(&UmtxWaiter::Wait, word, expected, deadline, since);
}

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_SIGNAL_EPOCH_H_

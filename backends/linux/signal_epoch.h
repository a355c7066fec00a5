// The signal epoch (backends/common/signal_epoch.h explains it) over this
// backend's futex wait.
#ifndef SYSV_BACKENDS_LINUX_SIGNAL_EPOCH_H_
#define SYSV_BACKENDS_LINUX_SIGNAL_EPOCH_H_

#include <atomic>
#include <cstdint>

#include "backends/common/signal_epoch.h"
#include "backends/linux/futex_waiter.h"
#include "core/deadline.h"
#include "core/waiter.h"

namespace sysv::linux_backend {

using ::sysv::backend::EscapeInterruptibleWait;
using ::sysv::backend::NoteSignalHandled;
using ::sysv::backend::SignalEpoch;

// FutexWaiter::Wait(), interrupted by any handler since `since` (see
// backends/common/signal_epoch.h).
inline sysv::core::WaitResult InterruptibleWait(const std::atomic<uint32_t>* word, uint32_t expected,
                                                sysv::core::Deadline deadline, uint64_t since) {
  return sysv::backend::InterruptibleWaitWith(&FutexWaiter::Wait, word, expected, deadline, since);
}

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_SIGNAL_EPOCH_H_

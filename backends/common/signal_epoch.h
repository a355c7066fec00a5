// The signal epoch: how many signal handlers have run on this thread, and a
// futex wait that a handler always interrupts, even one that runs in the
// instant before the wait starts.
//
// semop(2), msgsnd(2) and msgrcv(2) fail with EINTR when a handler runs
// while they sleep, and are never restarted. A futex wait only reports the
// handlers that run DURING it; one that runs between the sleeper's last
// check and the system call is invisible to the kernel, and the sleeper
// would sleep on. libsysv therefore wraps the handler-installing functions
// of the C library (compat/signal_hooks.cc) so that every handler runs
// through a trampoline that calls NoteSignalHandled() first and, after the
// program's handler returns, EscapeInterruptibleWait(). A sleeper reads
// SignalEpoch() when its call starts and passes it to InterruptibleWait(),
// which:
//   1. arms a per-thread escape point (sigsetjmp, saving the signal mask),
//   2. compares the epoch (a handler since the call started: interrupted),
//   3. sleeps on the futex.
// A handler that runs after step 1, whether before the system call or
// during it, returns to the escape point (siglongjmp restores the mask the
// handler ran with): the wait reports kInterrupted. One that runs before
// step 1 is seen at step 2. There is no gap left.
//
// Handlers installed by raw system call, or before libsysv was loaded, do
// not go through the trampoline: for them the old gap remains.
//
// Async-signal-safety: NoteSignalHandled() and EscapeInterruptibleWait()
// only touch thread-local words.
#ifndef SYSV_BACKENDS_COMMON_SIGNAL_EPOCH_H_
#define SYSV_BACKENDS_COMMON_SIGNAL_EPOCH_H_

#include <atomic>
#include <cstdint>

#include "core/deadline.h"
#include "core/waiter.h"

namespace sysv::backend {

// Handlers run on this thread so far (through the trampoline).
uint64_t SignalEpoch();

// Called by the trampoline at the start of every handler.
void NoteSignalHandled();

// Called by the trampoline after the program's handler returned: if this
// thread is inside an InterruptibleWait(), leaves the handler for it (does
// not return then).
void EscapeInterruptibleWait();

// The wait of a backend's Waiter (core/waiter.h): FutexWaiter::Wait,
// UmtxWaiter::Wait.
using WaitFn = sysv::core::WaitResult (*)(const std::atomic<uint32_t>* word, uint32_t expected,
                                          sysv::core::Deadline deadline);

// wait(word, expected, deadline), that also returns kInterrupted when
// SignalEpoch() is no longer `since`, or when a handler runs at any point of
// the wait (see above). Each backend's signal_epoch.h names it
// InterruptibleWait with its own waiter.
sysv::core::WaitResult InterruptibleWaitWith(WaitFn wait, const std::atomic<uint32_t>* word,
                                             uint32_t expected, sysv::core::Deadline deadline,
                                             uint64_t since);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_SIGNAL_EPOCH_H_

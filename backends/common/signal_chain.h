// Handing a fault signal on to whoever handled it before us. libsysv and
// sysvipcd each install a SIGSEGV/SIGBUS handler for faults of their own
// (compat/fault_safe_copy.h: a caller's bad pointer; guarded_mapping.h: a
// file a client cut short); every other fault must end as if that handler
// did not exist.
#ifndef SYSV_BACKENDS_COMMON_SIGNAL_CHAIN_H_
#define SYSV_BACKENDS_COMMON_SIGNAL_CHAIN_H_

#include <signal.h>

namespace sysv::backend {

// sigaction(2) or a stand-in with its contract (libsysv's reaches the C
// library's past its own wrapper).
using SetSignalAction = int (*)(int sig, const struct sigaction* action, struct sigaction* old);

// Runs `previous`, the disposition of `sig` before ours: its handler (with
// or without siginfo), nothing for SIG_IGN. For SIG_DFL it restores the
// default through `set_action` and returns, so that the faulting
// instruction runs again and the kernel delivers the signal as if no
// handler had been installed; a signal a process sent (si_code <= 0) is
// raised again instead, since no instruction repeats it. Async-signal-safe.
void ChainSignal(const struct sigaction& previous, int sig, siginfo_t* info, void* context,
                 SetSignalAction set_action);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_SIGNAL_CHAIN_H_

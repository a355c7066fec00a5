// The C library's sigaction(), past libsysv's own wrapper (signal_hooks.cc,
// which counts a program's handlers in the signal epoch): for handlers
// that are libsysv's own, whose signals no program handled.
#ifndef SYSV_COMPAT_REAL_SIGACTION_H_
#define SYSV_COMPAT_REAL_SIGACTION_H_

#include <signal.h>

namespace sysv::compat {

// sigaction(2)'s result and errno; ENOSYS if the C library's cannot be found.
int CallRealSigaction(int sig, const struct sigaction* action, struct sigaction* old);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_REAL_SIGACTION_H_

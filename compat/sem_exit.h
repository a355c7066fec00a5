// SEM_UNDO at exit, inside the exiting process.
//
// The kernel applies a process's semaphore adjustments inside its exit,
// before a parent can reap it: a parent that waitpid()s a child and reads
// the set sees the undone values. The daemon only learns of a death after
// the fact (pidfd), so for the ways a process normally ends (exit(), a
// return from main, _exit()/_Exit() called through the PLT) libsysv applies
// the process's own adjustments itself, last thing before it ends
// (compat/exit_hooks.cc). The daemon's pass then finds nothing to do; it
// stays for SIGKILL and for every case skipped below.
#ifndef SYSV_COMPAT_SEM_EXIT_H_
#define SYSV_COMPAT_SEM_EXIT_H_

namespace sysv::compat {

// exit_sem() for this process over the sets it used with SEM_UNDO. Does
// nothing (leaving the work to the daemon) when called in another process
// than the one that made the adjustments (a vfork child shares its memory),
// when a thread of this process is inside a locked semop (it may be this
// thread, interrupted by a signal handler that exits, holding a set's lock),
// or when it already ran. From then on a thread that starts a locked semop
// fails with EINTR without touching the set, as if the exit had killed it
// first. Async-signal-safe as far as _exit needs: no allocation, no lock of
// libsysv's own (the sets' robust locks are taken, with their deadline).
void ApplyOwnSemUndoBeforeExit();

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_SEM_EXIT_H_

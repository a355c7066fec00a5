// Dying with one's parent on DragonFly: what Linux's
// prctl(PR_SET_PDEATHSIG) gives a forked child (backends/<os>/platform.h:
// DieWithParent), for the benchmark's workers, which must not outlive a
// benchmark that was killed.
//
// DragonFly has no parent-death signal: its procctl(2) knows only
// PROC_REAP_* (sys/sys/procctl.h at f875a8e). So a thread of the calling
// process waits in a kqueue of its own on an EVFILT_PROC / NOTE_EXIT note
// for the parent, and sends the signal to its own process when that fires.
// filt_procattach() accepts a zombie and fires at once, and a reaped pid
// is ESRCH, so a parent that died before the note was in place is not
// missed: the caller compares getppid() after attaching it.
//
// Differences from PR_SET_PDEATHSIG: the watch is a thread, so it does not
// survive exec (PR_SET_PDEATHSIG does for a program that is not setuid);
// the signal comes a moment after the exit rather than from the exit
// itself; and the process has one thread more.
//
// Portable over kqueue_sys.h: tested on Linux against its double.
#ifndef SYSV_BACKENDS_DRAGONFLY_PARENT_DEATH_H_
#define SYSV_BACKENDS_DRAGONFLY_PARENT_DEATH_H_

#include <sys/types.h>

namespace sysv::dragonfly_backend {

// Arranges for the calling process to get `signal` when `parent`, its
// parent, exits. Returns false if `parent` is no longer its parent (it has
// exited already); true otherwise. Best effort, as prctl is for its
// callers: if no kqueue, note or thread can be had, nothing is watched and
// the result is still whether the parent is there.
bool DieWithParent(pid_t parent, int signal);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_PARENT_DEATH_H_

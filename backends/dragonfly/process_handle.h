// Process descriptors on DragonFly: what backends/linux's pidfd is to the
// daemon (backends/<os>/platform.h: OpenProcessHandle, ProcessHandleExited):
// a descriptor that becomes readable once one process has exited, and stays
// readable, so that the event loop and ExitWatch can watch it.
//
// DragonFly has no pidfd. A kqueue of its own holding one EVFILT_PROC /
// NOTE_EXIT note for the pid is such a descriptor: a kqueue is readable
// while an event is pending (sys/kern/kern_event.c:filt_kqueue()), and
// nobody collects this one (ProcessHandleExited only polls for
// readability), so it stays readable after the exit. filt_procattach()
// accepts a zombie and fires at once, so a process that exited before the
// note was attached is reported too; a reaped pid is ESRCH.
//
// Unlike a pidfd the note is attached by pid, so it names whichever process
// holds the pid at that instant: callers check the start time afterwards
// (ProcessAlive), as the Linux daemon does for pidfd_open(pid).
//
// A kqueue is not inherited by fork() (sys/kern/kern_descrip.c:fdcopy()):
// only the daemon, which does not fork, holds these.
//
// Portable over kqueue_sys.h: tested on Linux against its double.
#ifndef SYSV_BACKENDS_DRAGONFLY_PROCESS_HANDLE_H_
#define SYSV_BACKENDS_DRAGONFLY_PROCESS_HANDLE_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::dragonfly_backend {

// A descriptor readable once `pid` has exited; close-on-exec. Results: the
// descriptor; ESRCH if there is no such process (or it has been reaped);
// EACCES for a process in another jail; the errno of kqueue() or kevent().
absl::StatusOr<sysv::backend::UniqueFd> OpenProcessHandle(pid_t pid);

// Whether the process of `process_fd` (from OpenProcessHandle) has exited.
// Never blocks; a descriptor that cannot be polled counts as exited.
bool ProcessHandleExited(int process_fd);

// Sends `signal` to `pid`, the process of `process_fd` (from
// OpenProcessHandle), unless the handle says it has exited: what
// pidfd_send_signal() is on Linux. A pid is reused only once its process
// has been reaped, after the handle became readable; a reap and a reuse
// in the instant between the check and kill(2) is the one window a pidfd
// does not have. Results: 0; or -1 with errno, ESRCH if it has exited,
// otherwise kill(2)'s.
int SignalProcess(int process_fd, pid_t pid, int signal);

// One process for ever (DESIGN.md, decision 5): its process descriptor and
// the start time that names it with its pid.
struct ProcessInstance {
  sysv::backend::UniqueFd process_fd;
  pid_t pid = 0;
  uint64_t start_time = 0;
};

// The process that connected `socket_fd` and introduced itself as `pid`
// (the kernel-filled SCM_CREDS of IdentifyPeer) with effective uid `euid`
// (LOCAL_PEERCRED). The handle is attached by pid, so the process is taken
// for the connecting one only if its effective uid is `euid`, and the start
// time, read after the handle, is checked afterwards (still running, so the
// pid still named it): a pid reused by another user's process is never
// mistaken for the connecting one, as with pidfd_open on an old Linux.
// Results: the instance; ESRCH if the process has exited or the pid now
// names another user's process; the errnos of OpenProcessHandle and
// ReadKinfo.
absl::StatusOr<ProcessInstance> PeerProcess(int socket_fd, pid_t pid, uid_t euid);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_PROCESS_HANDLE_H_

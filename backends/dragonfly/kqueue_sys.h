// The slice of kqueue(2)/kevent(2) that KqueueLoop, ExitWatch and
// FileChangeWatch use, and nothing else: EVFILT_READ on descriptors,
// EVFILT_PROC with NOTE_EXIT on processes, EVFILT_VNODE on files and
// directories, EV_ADD and EV_DELETE. The logic around it (kqueue_loop.cc,
// exit_watch.cc) is portable. Two implementations:
//   kqueue_sys_dragonfly.cc     the real calls (sys/sys/event.h); built only
//                               for //build_defs:dragonfly_os;
//   kqueue_sys_linux_double.cc  a test double on epoll(7) and pidfds that
//                               keeps the contract below.
//
// KEvent mirrors DragonFly's struct kevent (sys/sys/event.h: uintptr_t ident;
// short filter; u_short flags; u_int fflags; intptr_t data; void *udata) with
// fixed-width types, and the constants have DragonFly's values, which
// kqueue_sys_dragonfly.cc static_asserts against the real header.
//
// The contract (DragonFly's sys/kern/kern_event.c: kqueue_register(),
// kqueue_scan(), filt_procattach(), filt_proc()), kept by both:
//   - A registration is keyed by (ident, filter). EV_ADD of a key already
//     registered replaces its udata (no error); EV_DELETE of a key not
//     registered fails with ENOENT; EV_ADD or EV_DELETE of a kFilterRead
//     registration for a descriptor that is not open fails with EBADF.
//   - kFilterRead is level-triggered (no EV_CLEAR): a registration whose
//     descriptor is still readable is reported by every Kevent() call, once
//     per call. kFlagEof is set in flags when the peer has gone (a pipe's
//     writer closed, a socket shut down); a hung-up descriptor is reported
//     even with no data.
//   - Closing a descriptor drops its kFilterRead registrations.
//   - kFilterProc with kNoteExit: ident is a pid. Fails with ESRCH if no such
//     process exists any more (it has been reaped); a zombie (exited, not yet
//     reaped) is accepted and reported at once. When the process exits the
//     event is reported ONCE, with kNoteExit in fflags and kFlagEof and
//     kFlagOneshot in flags, and the registration is then gone (EV_DELETE
//     fails with ENOENT). data is the exit status on DragonFly; the double
//     leaves it 0. Any process may be watched, whatever its owner (only a
//     jail boundary refuses: EACCES).
//   - kFilterVnode: ident is a descriptor of a regular file or a directory;
//     fflags the kNote* changes to watch, among kNoteDelete, kNoteWrite,
//     kNoteExtend and kNoteAttrib; always with kFlagClear (the only way it
//     is used: the double refuses it without, EINVAL). An event reports, in
//     fflags, the watched changes since the last report (filt_*vnode():
//     kn_fflags |= hint). On tmpfs (sys/vfs/tmpfs/tmpfs_vnops.c): write(2)
//     and ftruncate are kNoteWrite, with kNoteExtend when the size grew;
//     chmod/chown/utimes are kNoteAttrib; the last unlink is kNoteDelete;
//     creating, removing or renaming an entry is kNoteWrite on its
//     directory. Stores through a mapping are none of these. Closing the
//     descriptor drops the registration.
//   - A kqueue descriptor is itself readable (poll, or kFilterRead in
//     another kqueue) while it has events to report.
//   - Errors of a change are returned as -1 with errno, never as EV_ERROR
//     events, because every caller passes its changes with no event list.
#ifndef SYSV_BACKENDS_DRAGONFLY_KQUEUE_SYS_H_
#define SYSV_BACKENDS_DRAGONFLY_KQUEUE_SYS_H_

#include <time.h>

#include <cstdint>

namespace sysv::dragonfly_backend {

// Values of sys/sys/event.h.
inline constexpr int16_t kFilterRead = -1;           // EVFILT_READ
inline constexpr int16_t kFilterVnode = -4;          // EVFILT_VNODE: ident is a descriptor
inline constexpr int16_t kFilterProc = -5;           // EVFILT_PROC
inline constexpr int16_t kFilterSignal = -6;         // EVFILT_SIGNAL: ident is the signal, EV_CLEAR implied
inline constexpr int16_t kFilterTimer = -7;          // EVFILT_TIMER: data in ms, EV_CLEAR implied
inline constexpr uint16_t kFlagAdd = 0x0001;         // EV_ADD
inline constexpr uint16_t kFlagDelete = 0x0002;      // EV_DELETE
inline constexpr uint16_t kFlagOneshot = 0x0010;     // EV_ONESHOT
inline constexpr uint16_t kFlagClear = 0x0020;       // EV_CLEAR
inline constexpr uint16_t kFlagError = 0x4000;       // EV_ERROR
inline constexpr uint16_t kFlagEof = 0x8000;         // EV_EOF
inline constexpr uint32_t kNoteExit = 0x80000000u;   // NOTE_EXIT
inline constexpr uint32_t kNoteDelete = 0x0001;      // NOTE_DELETE
inline constexpr uint32_t kNoteWrite = 0x0002;       // NOTE_WRITE
inline constexpr uint32_t kNoteExtend = 0x0004;      // NOTE_EXTEND
inline constexpr uint32_t kNoteAttrib = 0x0008;      // NOTE_ATTRIB

// struct kevent, with fixed-width types; see the file comment.
struct KEvent {
  uintptr_t ident = 0;  // descriptor or pid
  int16_t filter = 0;   // kFilter*
  uint16_t flags = 0;   // kFlag*
  uint32_t fflags = 0;  // kNote*
  intptr_t data = 0;    // filter-specific result
  uint64_t udata = 0;   // ours, returned as given (void * on DragonFly)
};

// kqueue(2), then FD_CLOEXEC. Returns the new kqueue descriptor, or -1 with
// errno (EMFILE, ENFILE, ENOMEM). DragonFly has no kqueue1(): the flag is
// set by fcntl(2) right after, so a fork+exec in another thread in between
// could inherit it across exec (never across fork: kqueues are not
// inherited by fork, sys/kern/kern_descrip.c:fdcopy()).
int KqueueOpen();

// Closes a descriptor from KqueueOpen() (and, in the double, forgets its
// registrations). Returns 0 or -1 with errno (EBADF).
int KqueueClose(int kq);

// kevent(2): applies `changes` in order, then, if nevents > 0, waits until
// at least one event is pending or `timeout` passes (nullptr: no limit;
// {0, 0}: do not wait) and stores up to `nevents` events. Returns the number
// of events stored (0 on timeout), or -1 with errno:
//   EBADF, ENOENT, ESRCH, EACCES, EINVAL  a change failed (see above);
//                the changes before it were applied;
//   EINTR        a signal handler ran while waiting;
//   ENOMEM       out of knotes.
// At most kMaxEventsPerCall events are returned by one call.
inline constexpr int kMaxEventsPerCall = 256;
int Kevent(int kq, const KEvent* changes, int nchanges, KEvent* events,
           int nevents, const struct timespec* timeout);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_KQUEUE_SYS_H_

// Test controls of the Linux double of kqueue_sys.h
// (kqueue_sys_linux_double.cc).
//
// The double keeps the kqueue_sys.h contract on Linux: a "kqueue" is an
// epoll instance; kFilterRead registrations are level-triggered epoll
// entries (EPOLLIN | EPOLLRDHUP; a hang-up or error sets kFlagEof), and
// kFilterProc/kNoteExit registrations are pidfds (pidfd_open(2), Linux 5.3),
// reported once and then dropped, like DragonFly's EV_ONESHOT exit notes.
// kFilterVnode registrations are watches of the descriptor's file
// (/proc/self/fd/N) in one inotify instance per kqueue (an instance per
// note would run into fs.inotify.max_user_instances, 128 per user): IN_MODIFY is kNoteWrite (with
// kNoteExtend when fstat shows the size grew since the last report),
// IN_ATTRIB kNoteAttrib (kNoteDelete once the link count is 0),
// IN_DELETE_SELF kNoteDelete; on a directory IN_CREATE, IN_DELETE and
// IN_MOVED_* are kNoteWrite, as tmpfs knotes its directories.
//
// Where it differs from DragonFly, and why that does not matter here:
//   - data is 0 for every event (DragonFly: bytes readable, or the exit
//     status); neither KqueueLoop nor ExitWatch reads it.
//   - closing a descriptor without EV_DELETE leaves an epoll entry behind
//     while another descriptor still refers to the same file, where
//     DragonFly drops the knote at close(). The double ignores what such a
//     stale entry reports (every EV_ADD gets a fresh cookie), and both users
//     delete before they close.
//   - kFilterVnode: as with kFilterRead, a registration outlives a close()
//     without EV_DELETE (FileChangeWatch deletes first). An inotify queue
//     overflow is reported as every watched kNote*.
//   - EV_ADD of a regular file fails with EPERM (epoll) where DragonFly
//     accepts it; KqueueLoop refuses regular files itself before asking.
#ifndef SYSV_BACKENDS_DRAGONFLY_KQUEUE_SYS_LINUX_DOUBLE_H_
#define SYSV_BACKENDS_DRAGONFLY_KQUEUE_SYS_LINUX_DOUBLE_H_

namespace sysv::dragonfly_backend::testing {

// Makes the next `count` Kevent() calls that would wait for events fail
// with EINTR instead, as when a signal handler runs, after applying their
// changes.
void InjectKeventInterruptions(int count);

}  // namespace sysv::dragonfly_backend::testing

#endif  // SYSV_BACKENDS_DRAGONFLY_KQUEUE_SYS_LINUX_DOUBLE_H_

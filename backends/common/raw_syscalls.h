// System calls that libsysv's client side makes without going through the
// C library's interposable wrappers.
//
// Why: other preload libraries interpose libc functions and may call System
// V IPC from inside them. fakeroot's libfakeroot-sysv wraps the stat family
// and sends each request to faked with msgget/msgsnd/msgrcv: had libsysv
// called fstat() while holding its runtime lock (it sizes every region it
// maps), that wrapper would re-enter libsysv on the same thread and wait on
// the lock forever. Calls made while libsysv holds a lock that a SysV call
// takes go through here. `syscall()` itself is not a function such
// libraries wrap.
//
// Identities too: fakeroot makes geteuid() and friends answer 0 in its
// children, but the daemon judges every call by what the kernel says
// (SO_PEERCRED), so the client must ask the kernel as well, or its fast
// paths and the daemon would disagree about who the caller is.
#ifndef SYSV_BACKENDS_COMMON_RAW_SYSCALLS_H_
#define SYSV_BACKENDS_COMMON_RAW_SYSCALLS_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sysv::backend {

// fstat(2). On every 64-bit target we build for (Linux x86-64 and AArch64,
// DragonFly x86-64) the C library's struct stat is the kernel's.
inline int RawFstat(int fd, struct stat* st) { return static_cast<int>(syscall(SYS_fstat, fd, st)); }

// fstatat(2), for a path (`flags` as fstatat's: AT_SYMLINK_NOFOLLOW, ...).
inline int RawFstatAt(int dir_fd, const char* path, struct stat* st, int flags) {
#if defined(SYS_newfstatat)
  return static_cast<int>(syscall(SYS_newfstatat, dir_fd, path, st, flags));
#else
  return static_cast<int>(syscall(SYS_fstatat, dir_fd, path, st, flags));
#endif
}

// close(2), read(2), lseek(2) and fcntl(F_DUPFD_CLOEXEC): for code that
// interposes close() or write() itself and must not come back through them.
inline int RawClose(int fd) { return static_cast<int>(syscall(SYS_close, fd)); }
inline ssize_t RawRead(int fd, void* buffer, size_t size) {
  return static_cast<ssize_t>(syscall(SYS_read, fd, buffer, size));
}
inline off_t RawLseek(int fd, off_t offset, int whence) {
  return static_cast<off_t>(syscall(SYS_lseek, fd, offset, whence));
}
inline int RawDupCloexec(int fd) { return static_cast<int>(syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0)); }

// The kernel's answers, past any interposer.
inline pid_t RawGetpid() { return static_cast<pid_t>(syscall(SYS_getpid)); }
inline uid_t RawGeteuid() { return static_cast<uid_t>(syscall(SYS_geteuid)); }
inline gid_t RawGetegid() { return static_cast<gid_t>(syscall(SYS_getegid)); }
inline int RawGetgroups(int size, gid_t* list) { return static_cast<int>(syscall(SYS_getgroups, size, list)); }

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_RAW_SYSCALLS_H_

// The DragonFly calls that say who a process or thread is: a process's
// struct kinfo_proc through sysctl(3) (ProcessStartTime(), ProcessAlive()),
// one per LWP, the calling LWP's id, and whether we are jailed (the region
// mutex's LockOwnerProbe). The decoding is portable
// (process_watch.cc, with the layout in dragonfly_abi.h). Two
// implementations:
//   kinfo_sys_dragonfly.cc     sysctl({CTL_KERN, KERN_PROC, KERN_PROC_PID,
//                              pid}); built only for //build_defs:dragonfly_os;
//   kinfo_sys_linux_double.cc  a test double that builds the same bytes
//                              (DragonFly layout) from /proc/<pid>/stat.
//
// The contract (DragonFly's sys/kern/kern_proc.c:sysctl_kern_proc(), which
// looks the pid up with pfind()):
//   - *length holds the buffer's size on entry. Returns 0 and sets *length
//     to KinfoProcSize() with the record stored, or to 0 when there is no
//     process to report: no such pid, a ZOMBIE (pfind() skips them, so an
//     exited process vanishes from here at once, before it is reaped), or a
//     process in another jail.
//   - Returns -1 with errno ENOMEM when the buffer is smaller than one
//     record, EINVAL for pid < 0 ... as sysctl(3) does.
#ifndef SYSV_BACKENDS_DRAGONFLY_KINFO_SYS_H_
#define SYSV_BACKENDS_DRAGONFLY_KINFO_SYS_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace sysv::dragonfly_backend {

// The size of one record (sizeof(struct kinfo_proc) on DragonFly; the
// double's records are just long enough for the fields decoded).
size_t KinfoProcSize();

// Copies the record of `pid` into `buffer`; see the contract above.
int ReadKinfoProc(pid_t pid, void* buffer, size_t* length);

// The records of `pid`'s LWPs (threads): sysctl({CTL_KERN, KERN_PROC,
// KERN_PROC_PID | KERN_PROC_FLAG_LWP, pid}), one KinfoProcSize() record per
// LWP that has not exited, each with the process fields and that LWP's
// kp_lwp (sys/kern/kern_proc.c:sysctl_out_proc()). An LWP is taken out of
// its process's list as it exits (sys/kern/kern_exit.c:lwp_exit()), so an
// exited thread is never reported. As ReadKinfoProc otherwise: *length 0
// for no process (none, a zombie, another jail); -1 with ENOMEM when the
// buffer does not hold every record (some may have been stored).
int ReadKinfoLwps(pid_t pid, void* buffer, size_t* length);

// The calling thread's LWP id, lwp_gettid(2): numbered per process from 1
// (the first thread; exec() resets it to 1), never 0, below 2^30.
int32_t CurrentLwpId();

// The text of procfs's /proc/<pid>/rlimit (sys/vfs/procfs/procfs_rlimit.c:
// one line per limit, "memlock <cur> <max>", -1 for RLIM_INFINITY): at most
// `size` bytes into `buffer`. Returns the bytes read, or -1 with errno
// (ENOENT: procfs not mounted, which is DragonFly's default, or no such
// process). The double writes the same lines from Linux's /proc/<pid>/limits.
ssize_t ReadProcfsRlimit(pid_t pid, char* buffer, size_t size);

// The calling process's executable, sysctl({CTL_KERN, KERN_PROC,
// KERN_PROC_PATHNAME, -1}) (sys/kern/kern_proc.c:sysctl_kern_proc_pathname(),
// the vnode's cached name): at most `size` - 1 bytes and a NUL into
// `buffer`. Returns the path's length, or -1 with errno (ENOENT when the
// name is not cached, ENOMEM when `buffer` is too small). The double reads
// Linux's /proc/self/exe.
ssize_t ReadOwnExecutablePath(char* buffer, size_t size);

// sysctl jail.jailed: 1 if this process is in a jail, 0 if not, -1 with
// errno on failure. A jailed process sees no record of a process outside
// its jail (PRISON_CHECK in sysctl_kern_proc()): "no record" then does not
// mean "no process".
int InJail();

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_KINFO_SYS_H_

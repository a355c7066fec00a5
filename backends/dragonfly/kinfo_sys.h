// The one DragonFly call ProcessStartTime()/ProcessAlive() need: a
// process's struct kinfo_proc through sysctl(3). The decoding is portable
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

namespace sysv::dragonfly_backend {

// The size of one record (sizeof(struct kinfo_proc) on DragonFly; the
// double's records are just long enough for the fields decoded).
size_t KinfoProcSize();

// Copies the record of `pid` into `buffer`; see the contract above.
int ReadKinfoProc(pid_t pid, void* buffer, size_t* length);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_KINFO_SYS_H_

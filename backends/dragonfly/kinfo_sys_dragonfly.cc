// kinfo_sys.h over DragonFly's sysctl(3). DragonFly only (BUILD:
// target_compatible_with //build_defs:dragonfly_os).
//
// sysctl's prototype is in sys/sys/sysctl.h (`int sysctl(const int *, u_int,
// void *, size_t *, const void *, size_t)`); struct kinfo_proc is in
// sys/sys/kinfo.h, which must be reached through sys/user.h. The layout the
// portable decoder assumes is checked in dragonfly_abi_check.cc.
#include <sys/types.h>
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>

#include <cstddef>

#include "backends/dragonfly/kinfo_sys.h"

namespace sysv::dragonfly_backend {

size_t KinfoProcSize() { return sizeof(struct kinfo_proc); }

int ReadKinfoProc(pid_t pid, void* buffer, size_t* length) {
  const int name[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, static_cast<int>(pid)};
  return sysctl(name, 4, buffer, length, nullptr, 0);
}

}  // namespace sysv::dragonfly_backend

// Where a namespace lives when nobody says: SYSVIPC_DIR, else a per-user
// directory on a memory file system (like the kernel's shm, contents do not
// outlive a reboot, and writing them never waits on a disk).
#ifndef SYSV_BACKENDS_COMMON_NAMESPACE_DIR_H_
#define SYSV_BACKENDS_COMMON_NAMESPACE_DIR_H_

#include <string>

namespace sysv::backend {

// $SYSVIPC_DIR if set and non-empty; else $XDG_RUNTIME_DIR/sysvipc; else
// /dev/shm/sysvipc-<euid> (or /tmp/sysvipc-<euid> where /dev/shm is absent).
std::string ResolveNamespaceDir();

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_NAMESPACE_DIR_H_

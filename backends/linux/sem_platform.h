// The platform of core::SemSet on Linux: the region platform
// (backends/linux/region_platform.h), under the names semaphore code uses.
#ifndef SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_
#define SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_

#include "backends/linux/region_platform.h"
#include "core/sem/sem_set.h"

namespace sysv::linux_backend {

// For clients: a busy set lock is waited for as a blocked semop waits; sleeps end with EINTR
// for every handler that runs after a semop started (signal_epoch.h).
inline const core::SemPlatform& LinuxSemPlatform() { return LinuxRegionPlatform(); }
// For the daemon: never waits for a lock (see LinuxDaemonRegionPlatform()).
inline const core::SemPlatform& LinuxDaemonSemPlatform() { return LinuxDaemonRegionPlatform(); }

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_

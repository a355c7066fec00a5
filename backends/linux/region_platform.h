// The operating-system services the region algorithms of core/ need
// (core/region_platform.h: semaphore sets and message queues), on Linux:
// futex waits, the region mutex (region_mutex.h), process liveness, the realtime
// clock, spinning hints and the signal epoch.
#ifndef SYSV_BACKENDS_LINUX_REGION_PLATFORM_H_
#define SYSV_BACKENDS_LINUX_REGION_PLATFORM_H_

#include "core/region_platform.h"

namespace sysv::linux_backend {

// For clients: a busy region lock is waited for as a blocked call waits
// (core::RegionPlatform::LockAsCall); sleeps end with EINTR for every
// handler that runs after a call started (signal_epoch.h).
const core::RegionPlatform& LinuxRegionPlatform();
// For the daemon: never a wait on a lock (DESIGN.md "Trust model", rule 5:
// a client can hold one, stop, or forge the word). Every lock is a try-lock
// that probes a holder at once and takes a dead one's lock over; a busy lock
// is kLockBusy, and the daemon retries that work later in the background.
// No signal hooks (the daemon never sleeps in a client's call).
const core::RegionPlatform& LinuxDaemonRegionPlatform();

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_REGION_PLATFORM_H_

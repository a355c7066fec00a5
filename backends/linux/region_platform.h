// The operating-system services the region algorithms of core/ need
// (core/region_platform.h: semaphore sets and message queues), on Linux:
// futex waits, the region mutex (region_mutex.h), process liveness, the realtime
// clock, spinning hints and the signal epoch.
#ifndef SYSV_BACKENDS_LINUX_REGION_PLATFORM_H_
#define SYSV_BACKENDS_LINUX_REGION_PLATFORM_H_

#include "core/region_platform.h"

namespace sysv::linux_backend {

// For clients: a region's lock is waited for up to 2 s; sleeps end with
// EINTR for every handler that runs after a call started (signal_epoch.h).
const core::RegionPlatform& LinuxRegionPlatform();
// For the daemon: up to 50 ms, so that an object whose lock a stopped or
// hostile process holds cannot stall everyone else for long; no signal
// hooks (the daemon never sleeps in a client's call).
const core::RegionPlatform& LinuxDaemonRegionPlatform();

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_REGION_PLATFORM_H_

// The operating-system services the region algorithms of core/ need
// (core/region_platform.h: semaphore sets and message queues), on
// DragonFly: umtx waits, the region mutex (region_mutex.h), process
// liveness, the realtime clock, spinning hints and the signal epoch. The
// tables are backends/common/region_platforms.h's; what each is for is
// said in backends/linux/region_platform.h.
//
// umtx_sleep cannot sleep on a read-only mapping (umtx_waiter.h): a client
// with read access only to a semaphore set polls while it waits (50 us to
// 1 ms naps), where Linux sleeps. Correct, slower.
#ifndef SYSV_BACKENDS_DRAGONFLY_REGION_PLATFORM_H_
#define SYSV_BACKENDS_DRAGONFLY_REGION_PLATFORM_H_

#include "core/region_platform.h"
#include "core/sem/sem_set.h"

namespace sysv::dragonfly_backend {

const core::RegionPlatform& DragonFlyRegionPlatform();
const core::RegionPlatform& DragonFlyDaemonRegionPlatform();

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_REGION_PLATFORM_H_

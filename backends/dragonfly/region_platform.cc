#include "backends/dragonfly/region_platform.h"

#include "backends/common/region_platforms.h"
#include "backends/dragonfly/region_mutex.h"
#include "backends/dragonfly/signal_epoch.h"
#include "backends/dragonfly/umtx_waiter.h"

namespace sysv::dragonfly_backend {

const core::RegionPlatform& DragonFlyRegionPlatform() {
  return backend::ClientRegionPlatformOf<UmtxWaiter, RegionMutex, &InterruptibleWait>();
}

const core::RegionPlatform& DragonFlyDaemonRegionPlatform() {
  return backend::DaemonRegionPlatformOf<UmtxWaiter, RegionMutex>();
}

}  // namespace sysv::dragonfly_backend

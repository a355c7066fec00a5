#include "backends/linux/region_platform.h"

#include "backends/common/region_platforms.h"
#include "backends/linux/futex_waiter.h"
#include "backends/linux/region_mutex.h"
#include "backends/linux/signal_epoch.h"

namespace sysv::linux_backend {

const core::RegionPlatform& LinuxRegionPlatform() {
  return backend::ClientRegionPlatformOf<FutexWaiter, RegionMutex, &InterruptibleWait>();
}

const core::RegionPlatform& LinuxDaemonRegionPlatform() {
  return backend::DaemonRegionPlatformOf<FutexWaiter, RegionMutex>();
}

}  // namespace sysv::linux_backend

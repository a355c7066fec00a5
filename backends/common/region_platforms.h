// The two RegionPlatform tables (core/region_platform.h) every backend
// supplies, built from its waiter, its region mutex and its interruptible
// wait; the rest (process liveness, the clock, spinning hints) is POSIX and
// the same everywhere. Each backend's region_platform.h says what the two
// tables are for: ClientRegionPlatformOf waits for busy region locks as a
// blocked call does; DaemonRegionPlatformOf never waits (every lock is
// M::TryLockOrTakeOver: DESIGN.md "Trust model", rule 5) and has no signal
// hooks.
#ifndef SYSV_BACKENDS_COMMON_REGION_PLATFORMS_H_
#define SYSV_BACKENDS_COMMON_REGION_PLATFORMS_H_

#include <atomic>
#include <cstdint>

#include "backends/common/signal_epoch.h"
#include "core/deadline.h"
#include "core/region_platform.h"
#include "core/shared_mutex.h"
#include "core/waiter.h"

namespace sysv::backend {

// kill(pid, 0): EPERM still means the process exists. A reused pid counts as
// alive (the window is the pid space's wrap-around, and the daemon drops a
// dead process's records as soon as it learns of the death). Preserves errno.
bool PidExists(int32_t pid);

// The CPU this thread runs on (sched_getcpu: glibc reads rseq's cpu_id or
// calls the vDSO). A sleeper publishes it so that its waker can tell
// whether spinning helps: the core spins only while whoever will decide it
// runs on another CPU (core/region_platform.h, current_cpu).
int CurrentCpu();

// sched_yield().
void YieldCpu();

// CLOCK_REALTIME in whole seconds (time(): the vDSO's coarse clock on Linux).
int64_t NowRealtimeSeconds();

template <typename W, typename M,
          core::WaitResult (*kInterruptibleWait)(const std::atomic<uint32_t>*, uint32_t, core::Deadline, uint64_t)>
const core::RegionPlatform& ClientRegionPlatformOf() {
  static const core::RegionPlatform platform = {
      core::WaiterOpsFor<W>(),
      core::SharedMutexOpsFor<M>(),
      &PidExists,
      &NowRealtimeSeconds,
      /*waits_for_locks=*/true,
      &CurrentCpu,
      &YieldCpu,
      &SignalEpoch,
      kInterruptibleWait,
  };
  return platform;
}

template <typename W, typename M>
const core::RegionPlatform& DaemonRegionPlatformOf() {
  // Never a wait, whatever the deadline; a dead holder's lock is taken over
  // at once.
  static constexpr auto kLock = [](void* storage, core::Deadline) { return M::TryLockOrTakeOver(storage); };
  static const core::RegionPlatform platform = [] {
    core::SharedMutexOps mutex = core::SharedMutexOpsFor<M>();
    mutex.lock = +kLock;
    return core::RegionPlatform{
        core::WaiterOpsFor<W>(),
        mutex,
        &PidExists,
        &NowRealtimeSeconds,
        /*waits_for_locks=*/false,
    };
  }();
  return platform;
}

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_REGION_PLATFORMS_H_

#include "backends/linux/region_platform.h"

#include <sched.h>
#include <signal.h>
#include <time.h>

#include <cerrno>

#include "backends/linux/futex_waiter.h"
#include "backends/linux/region_mutex.h"
#include "backends/linux/signal_epoch.h"

namespace sysv::linux_backend {
namespace {

// kill(pid, 0): EPERM still means the process exists. A reused pid counts as
// alive (the window is the pid space's wrap-around, and the daemon drops a
// dead process's records as soon as it learns of the death).
bool PidExists(int32_t pid) {
  const int saved = errno;
  const bool alive = kill(pid, 0) == 0 || errno == EPERM;
  errno = saved;
  return alive;
}

// sched_getcpu(): glibc reads rseq's cpu_id, or calls the vDSO's getcpu.
int CurrentCpu() { return sched_getcpu(); }

void Yield() { sched_yield(); }

// The daemon's lock: never a wait, whatever the deadline (see
// LinuxDaemonRegionPlatform); a dead holder's lock is taken over at once.
core::LockResult DaemonLock(void* storage, core::Deadline) { return RegionMutex::TryLockOrTakeOver(storage); }

constexpr core::SharedMutexOps DaemonMutexOps() {
  core::SharedMutexOps ops = core::SharedMutexOpsFor<RegionMutex>();
  ops.lock = &DaemonLock;
  return ops;
}

int64_t NowRealtimeSeconds() {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return now.tv_sec;
}

}  // namespace

const core::RegionPlatform& LinuxRegionPlatform() {
  static const core::RegionPlatform platform = {
      core::WaiterOpsFor<FutexWaiter>(),
      core::SharedMutexOpsFor<RegionMutex>(),
      &PidExists,
      &NowRealtimeSeconds,
      /*waits_for_locks=*/true,
      &CurrentCpu,
      &Yield,
      &SignalEpoch,
      &InterruptibleWait,
  };
  return platform;
}

const core::RegionPlatform& LinuxDaemonRegionPlatform() {
  static const core::RegionPlatform platform = {
      core::WaiterOpsFor<FutexWaiter>(),
      DaemonMutexOps(),
      &PidExists,
      &NowRealtimeSeconds,
      /*waits_for_locks=*/false,
  };
  return platform;
}

}  // namespace sysv::linux_backend

#include "backends/linux/sem_platform.h"

#include <signal.h>
#include <time.h>

#include <cerrno>

#include "backends/linux/futex_waiter.h"
#include "backends/linux/robust_mutex.h"

namespace sysv::linux_backend {
namespace {

// kill(pid, 0): EPERM still means the process exists. A reused pid counts as
// alive (the window is the pid space's wrap-around, and the daemon drops a
// dead process's records as soon as it learns of the death).
bool ProcessExists(int32_t pid) {
  const int saved = errno;
  const bool alive = kill(pid, 0) == 0 || errno == EPERM;
  errno = saved;
  return alive;
}

int64_t RealtimeSeconds() {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return now.tv_sec;
}

}  // namespace

const core::SemPlatform& LinuxSemPlatform() {
  static const core::SemPlatform platform = {
      core::WaiterOpsFor<FutexWaiter>(),
      core::SharedMutexOpsFor<RobustMutex>(),
      &ProcessExists,
      &RealtimeSeconds,
      2'000'000'000,
  };
  return platform;
}

const core::SemPlatform& LinuxDaemonSemPlatform() {
  static const core::SemPlatform platform = {
      core::WaiterOpsFor<FutexWaiter>(),
      core::SharedMutexOpsFor<RobustMutex>(),
      &ProcessExists,
      &RealtimeSeconds,
      50'000'000,
  };
  return platform;
}

}  // namespace sysv::linux_backend

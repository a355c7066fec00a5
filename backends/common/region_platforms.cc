#include "backends/common/region_platforms.h"

#include <sched.h>
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdint>

namespace sysv::backend {

bool PidExists(int32_t pid) {
  const int saved = errno;
  const bool alive = kill(pid, 0) == 0 || errno == EPERM;
  errno = saved;
  return alive;
}

int CurrentCpu() { return sched_getcpu(); }

void YieldCpu() { sched_yield(); }

int64_t NowRealtimeSeconds() { return static_cast<int64_t>(time(nullptr)); }

}  // namespace sysv::backend

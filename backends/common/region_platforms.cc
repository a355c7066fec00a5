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

int SpinIterations() {
  constexpr int kSpin = 4000;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0) return kSpin;
  return CPU_COUNT(&cpus) > 1 ? kSpin : 0;
}

void YieldCpu() { sched_yield(); }

int64_t NowRealtimeSeconds() { return static_cast<int64_t>(time(nullptr)); }

}  // namespace sysv::backend

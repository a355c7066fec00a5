// umtx_sys.h over DragonFly's own system calls. DragonFly only (BUILD:
// target_compatible_with //build_defs:dragonfly_os).
//
// Prototypes, as declared by DragonFly's include/unistd.h (lines 610-611 of
// the 2020 tree; the system calls are 469 and 470 in
// sys/kern/syscalls.master):
//   int umtx_sleep(volatile const int *, int, int);
//   int umtx_wakeup(volatile const int *, int);
// Both return 0 or -1 with errno, exactly what umtx_sys.h promises, so these
// are plain forwarders.
#include <unistd.h>

#include <type_traits>

#include "backends/dragonfly/umtx_sys.h"

namespace sysv::dragonfly_backend {

// If DragonFly ever changes the prototypes, fail here rather than at run time.
static_assert(std::is_same_v<decltype(&::umtx_sleep),
                             int (*)(const volatile int*, int, int)>);
static_assert(std::is_same_v<decltype(&::umtx_wakeup),
                             int (*)(const volatile int*, int)>);

int UmtxSleep(const volatile int* ptr, int value, int timeout_us) {
  return ::umtx_sleep(ptr, value, timeout_us);
}

int UmtxWakeup(const volatile int* ptr, int count) {
  return ::umtx_wakeup(ptr, count);
}

}  // namespace sysv::dragonfly_backend

// The operating-system services core::SemSet needs, on Linux: futex waits,
// the robust pthread mutex, process liveness and the realtime clock.
#ifndef SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_
#define SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_

#include "core/sem/sem_set.h"

namespace sysv::linux_backend {

const core::SemPlatform& LinuxSemPlatform();

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_

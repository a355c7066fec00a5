// The operating-system services core::SemSet needs, on Linux: futex waits,
// the robust pthread mutex, process liveness and the realtime clock.
#ifndef SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_
#define SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_

#include "core/sem/sem_set.h"

namespace sysv::linux_backend {

// For clients: a set's lock is waited for up to 2 s.
const core::SemPlatform& LinuxSemPlatform();
// For the daemon: up to 50 ms, so that a set whose lock a stopped or
// hostile process holds cannot stall everyone else for long.
const core::SemPlatform& LinuxDaemonSemPlatform();

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_SEM_PLATFORM_H_

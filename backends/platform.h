// The one header daemon/ and compat/ include for OS services: it picks the
// backend the build is for, as absl/synchronization/internal/waiter.h picks
// a waiter, and every backend's platform.h puts its services under
// `sysv::platform` with the same names. BUILD links the matching backend
// (//backends:platform).
#ifndef SYSV_BACKENDS_PLATFORM_H_
#define SYSV_BACKENDS_PLATFORM_H_

// SYSV_DRAGONFLY_BACKEND_ON_LINUX is defined by
// //backends/dragonfly:backend_linux_doubles (--config=dragonfly_doubles):
// the DragonFly backend, over its Linux system-call doubles.
#if defined(__DragonFly__) || defined(SYSV_DRAGONFLY_BACKEND_ON_LINUX)
#include "backends/dragonfly/platform.h"
#elif defined(__linux__)
#include "backends/linux/platform.h"
#else
#error "libsysv has no backend for this operating system"
#endif

#endif  // SYSV_BACKENDS_PLATFORM_H_

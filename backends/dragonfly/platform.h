// The DragonFly backend as daemon/ and compat/ see it (backends/platform.h
// picks it on DragonFly). It does not yet provide every name the Linux
// platform.h does (region platforms, held files, retry timer, ELF rebinding,
// sealed snapshots, the awake receive): the daemon and library do not build
// for DragonFly until it does (issue #17).
#ifndef SYSV_BACKENDS_DRAGONFLY_PLATFORM_H_
#define SYSV_BACKENDS_DRAGONFLY_PLATFORM_H_

#include "backends/common/security_driver.h"
#include "backends/dragonfly/channel.h"
#include "backends/dragonfly/event_loop_selector.h"
#include "backends/dragonfly/exit_watch.h"
#include "backends/dragonfly/peer_credentials.h"
#include "backends/dragonfly/process_watch.h"
#include "backends/dragonfly/region_file.h"
#include "backends/dragonfly/user_namespace.h"

namespace sysv {
namespace dragonfly_backend {

// The security driver: the daemon's client of /dev/sysvipc is POSIX over
// the shared ABI (backends/common/driver/), which DragonFly's module (issue
// #17) is to implement; until it exists, --driver=auto finds no device.
using ::sysv::backend::DriverMode;
using ::sysv::backend::OpenSecurityDriverFor;
using ::sysv::backend::ParseDriverMode;
using ::sysv::backend::SecurityDriver;

}  // namespace dragonfly_backend

namespace platform = dragonfly_backend;
}  // namespace sysv

#endif  // SYSV_BACKENDS_DRAGONFLY_PLATFORM_H_

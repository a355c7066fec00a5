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

// The security driver: DragonFly's /dev/sysvipc module (issue #17) speaks
// the same ABI (backends/common/driver/), so the daemon's client is shared.
using ::sysv::backend::DriverMode;
using ::sysv::backend::OpenSecurityDriverFor;
using ::sysv::backend::ParseDriverMode;
using ::sysv::backend::SecurityDriver;

}  // namespace dragonfly_backend

namespace platform = dragonfly_backend;
}  // namespace sysv

#endif  // SYSV_BACKENDS_DRAGONFLY_PLATFORM_H_

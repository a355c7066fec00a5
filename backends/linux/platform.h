// The Linux backend as daemon/ and compat/ see it: every service they use,
// under the names every backend's platform.h provides (backends/platform.h
// picks one). Code above the backends writes `platform::X`, never an OS's
// namespace, so that the choice of OS stays in one place.
#ifndef SYSV_BACKENDS_LINUX_PLATFORM_H_
#define SYSV_BACKENDS_LINUX_PLATFORM_H_

#include "backends/common/security_driver.h"
#include "backends/linux/channel.h"
#include "backends/linux/elf_rebind.h"
#include "backends/linux/event_loop_selector.h"
#include "backends/linux/exit_watch.h"
#include "backends/linux/file_change_watch.h"
#include "backends/linux/held_files.h"
#include "backends/linux/peer_credentials.h"
#include "backends/linux/process_watch.h"
#include "backends/linux/region_file.h"
#include "backends/linux/region_platform.h"
#include "backends/linux/retry_timer.h"
#include "backends/linux/sealed_snapshot.h"
#include "backends/linux/sem_platform.h"
#include "backends/linux/signal_epoch.h"
#include "backends/linux/user_namespace.h"

namespace sysv {
namespace linux_backend {

// The region platforms by role, not by OS: a client waits for locks as a
// blocked call does; the daemon never waits (region_platform.h).
inline const core::RegionPlatform& ClientRegionPlatform() { return LinuxRegionPlatform(); }
inline const core::RegionPlatform& DaemonRegionPlatform() { return LinuxDaemonRegionPlatform(); }
inline const core::SemPlatform& ClientSemPlatform() { return LinuxSemPlatform(); }
inline const core::SemPlatform& DaemonSemPlatform() { return LinuxDaemonSemPlatform(); }

// The security driver, /dev/sysvipc (backends/linux/driver/): its client is
// POSIX, shared with DragonFly's (backends/common/security_driver.h).
using ::sysv::backend::DriverMode;
using ::sysv::backend::OpenSecurityDriverFor;
using ::sysv::backend::ParseDriverMode;
using ::sysv::backend::SecurityDriver;

}  // namespace linux_backend

namespace platform = linux_backend;

}  // namespace sysv

#endif  // SYSV_BACKENDS_LINUX_PLATFORM_H_

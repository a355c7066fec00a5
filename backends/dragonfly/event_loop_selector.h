// Chooses the daemon's event loop on DragonFly: there is one, KqueueLoop.
// The counterpart of backends/linux/event_loop_selector.h, with the same
// flag and environment variable, so that a daemon started with a Linux
// configuration says what is wrong instead of silently differing.
//
// Portable (it only makes a KqueueLoop), so tested on Linux against the
// kqueue double.
#ifndef SYSV_BACKENDS_DRAGONFLY_EVENT_LOOP_SELECTOR_H_
#define SYSV_BACKENDS_DRAGONFLY_EVENT_LOOP_SELECTOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "backends/common/event_loop.h"

namespace sysv::dragonfly_backend {

// Overrides EventLoopKind::kAuto, as on Linux: "auto", "io_uring" or
// "epoll". An explicit kind from the command line wins over it.
inline constexpr char kEventLoopEnvironmentVariable[] = "SYSV_EVENT_LOOP";

// Makes the event loop for `kind`:
//   kAuto     the kind named by $SYSV_EVENT_LOOP if set and not empty (an
//             unparsable value is EINVAL), else a KqueueLoop (or kqueue()'s
//             error);
//   kEpoll, kIoUring   ENOSYS: Linux mechanisms, absent here; the message
//             names kqueue and --event_loop=auto.
// The daemon logs the chosen loop's name().
absl::StatusOr<std::unique_ptr<sysv::backend::EventLoop>> MakeEventLoop(
    sysv::backend::EventLoopKind kind);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_EVENT_LOOP_SELECTOR_H_

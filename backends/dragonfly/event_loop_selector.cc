#include "backends/dragonfly/event_loop_selector.h"

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/common/environment.h"
#include "backends/common/event_loop.h"
#include "backends/dragonfly/kqueue_loop.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {

using ::sysv::backend::EventLoop;
using ::sysv::backend::EventLoopKind;

absl::StatusOr<std::unique_ptr<EventLoop>> MakeEventLoop(EventLoopKind kind) {
  if (kind == EventLoopKind::kAuto) {
    if (const char* value = sysv::backend::OurVariable(kEventLoopEnvironmentVariable); value != nullptr) {
      absl::StatusOr<EventLoopKind> named = sysv::backend::ParseEventLoopKind(value);
      if (!named.ok()) {
        return sysv::core::ErrnoStatus(
            EINVAL, absl::StrCat("$", kEventLoopEnvironmentVariable, ": ",
                                 named.status().message()));
      }
      kind = *named;
    }
  }
  if (kind != EventLoopKind::kAuto) {
    return sysv::core::ErrnoStatus(
        ENOSYS, absl::StrCat(sysv::backend::EventLoopKindName(kind),
                             " is a Linux mechanism; DragonFly has kqueue "
                             "(--event_loop=auto)"));
  }
  absl::StatusOr<std::unique_ptr<KqueueLoop>> loop = KqueueLoop::Create();
  if (!loop.ok()) return loop.status();
  return std::unique_ptr<EventLoop>(std::move(*loop));
}

}  // namespace sysv::dragonfly_backend

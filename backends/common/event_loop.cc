#include "backends/common/event_loop.h"

#include <cerrno>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/ipc/errno_status.h"

namespace sysv::backend {

absl::StatusOr<EventLoopKind> ParseEventLoopKind(absl::string_view text) {
  if (text == "auto") return EventLoopKind::kAuto;
  if (text == "io_uring") return EventLoopKind::kIoUring;
  if (text == "epoll") return EventLoopKind::kEpoll;
  return sysv::core::ErrnoStatus(
      EINVAL, absl::StrCat("unknown event loop \"", text,
                           "\"; expected auto, io_uring or epoll"));
}

const char* EventLoopKindName(EventLoopKind kind) {
  switch (kind) {
    case EventLoopKind::kAuto:
      return "auto";
    case EventLoopKind::kIoUring:
      return "io_uring";
    case EventLoopKind::kEpoll:
      return "epoll";
  }
  return "invalid";
}

}  // namespace sysv::backend

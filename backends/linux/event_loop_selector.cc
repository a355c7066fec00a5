#include "backends/linux/event_loop_selector.h"

#include <liburing.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/common/environment.h"
#include "backends/common/event_loop.h"
#include "backends/linux/epoll_loop.h"
#include "backends/linux/io_uring_loop.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::EventLoop;
using ::sysv::backend::EventLoopKind;
using ::sysv::core::ErrnoStatus;

absl::StatusOr<std::unique_ptr<EventLoop>> MakeEpoll() {
  absl::StatusOr<std::unique_ptr<EpollLoop>> loop = EpollLoop::Create();
  if (!loop.ok()) return loop.status();
  return std::unique_ptr<EventLoop>(std::move(*loop));
}

absl::StatusOr<std::unique_ptr<EventLoop>> MakeIoUring() {
  if (absl::Status probe = ProbeIoUring(); !probe.ok()) return probe;
  absl::StatusOr<std::unique_ptr<IoUringLoop>> loop = IoUringLoop::Create();
  if (!loop.ok()) return loop.status();
  return std::unique_ptr<EventLoop>(std::move(*loop));
}

}  // namespace

absl::Status ProbeIoUring() {
  struct io_uring ring;
  const int rc = io_uring_queue_init(4, &ring, 0);
  if (rc < 0) return ErrnoStatus(-rc, "io_uring_queue_init");
  absl::Cleanup exit_ring = [&ring] { io_uring_queue_exit(&ring); };

  struct io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) {
    return ErrnoStatus(EOPNOTSUPP, "io_uring opcode probe unsupported");
  }
  const bool poll_add = io_uring_opcode_supported(probe, IORING_OP_POLL_ADD);
  const bool poll_remove =
      io_uring_opcode_supported(probe, IORING_OP_POLL_REMOVE);
  io_uring_free_probe(probe);
  if (!poll_add || !poll_remove) {
    return ErrnoStatus(EOPNOTSUPP,
                       absl::StrCat("io_uring lacks ",
                                    poll_add ? "" : "IORING_OP_POLL_ADD ",
                                    poll_remove ? "" : "IORING_OP_POLL_REMOVE"));
  }

  struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (sqe == nullptr) return ErrnoStatus(EBUSY, "io_uring: no SQE for NOP");
  io_uring_prep_nop(sqe);
  const int submitted = io_uring_submit(&ring);
  if (submitted < 0) return ErrnoStatus(-submitted, "io_uring_submit(NOP)");
  if (submitted != 1) return ErrnoStatus(EIO, "io_uring did not take the NOP");
  struct io_uring_cqe* cqe = nullptr;
  int waited;
  do {
    waited = io_uring_wait_cqe(&ring, &cqe);
  } while (waited == -EINTR);
  if (waited < 0) return ErrnoStatus(-waited, "io_uring_wait_cqe(NOP)");
  const int result = cqe->res;
  io_uring_cqe_seen(&ring, cqe);
  if (result < 0) return ErrnoStatus(-result, "io_uring NOP");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EventLoop>> MakeEventLoop(EventLoopKind kind) {
  if (kind == EventLoopKind::kAuto) {
    if (const char* value = sysv::backend::OurVariable(kEventLoopEnvironmentVariable); value != nullptr) {
      absl::StatusOr<EventLoopKind> parsed =
          sysv::backend::ParseEventLoopKind(value);
      if (!parsed.ok()) {
        return ErrnoStatus(EINVAL, absl::StrCat("$", kEventLoopEnvironmentVariable,
                                                ": ", parsed.status().message()));
      }
      kind = *parsed;
    }
  }
  switch (kind) {
    case EventLoopKind::kEpoll:
      return MakeEpoll();
    case EventLoopKind::kIoUring:
      return MakeIoUring();
    case EventLoopKind::kAuto:
      break;
  }
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = MakeIoUring();
  if (loop.ok()) return loop;
  return MakeEpoll();
}

}  // namespace sysv::linux_backend

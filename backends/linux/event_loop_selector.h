// Chooses the daemon's event loop at run time: io_uring when the kernel
// really provides what IoUringLoop uses, epoll otherwise.
#ifndef SYSV_BACKENDS_LINUX_EVENT_LOOP_SELECTOR_H_
#define SYSV_BACKENDS_LINUX_EVENT_LOOP_SELECTOR_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/event_loop.h"

namespace sysv::linux_backend {

// The environment variable that overrides EventLoopKind::kAuto, like libuv's
// UV_USE_IO_URING: "auto", "io_uring" or "epoll". An explicit kind from the
// command line wins over it.
inline constexpr char kEventLoopEnvironmentVariable[] = "SYSV_EVENT_LOOP";

// Tries io_uring for real, the way IoUringLoop will use it: sets up a ring,
// asks io_uring_get_probe_ring() whether IORING_OP_POLL_ADD and
// IORING_OP_POLL_REMOVE are supported, submits an IORING_OP_NOP and reaps its
// completion. Seastar and libuv learned that io_uring_setup() succeeding
// proves little (seccomp filters answer EPERM to later calls, old kernels
// lack opcodes). Results: OK if all of that works; otherwise the first
// failure as an ErrnoStatus: ENOSYS or EPERM from setup (no io_uring, or
// refused), EOPNOTSUPP (an opcode is missing, or the probe itself is
// unsupported, as before Linux 5.6), or the errno of the submission or the
// NOP's result.
absl::Status ProbeIoUring();

// Makes the event loop for `kind`:
//   kEpoll    an EpollLoop, or epoll_create1's error.
//   kIoUring  an IoUringLoop if ProbeIoUring() succeeds, else its error.
//   kAuto     the kind named by $SYSV_EVENT_LOOP if that is set and not
//             empty (an unparsable value is an EINVAL error, not ignored:
//             the operator asked for something); otherwise an IoUringLoop if
//             ProbeIoUring() succeeds, and an EpollLoop if it fails for any
//             reason.
// The daemon logs the chosen loop's name().
absl::StatusOr<std::unique_ptr<sysv::backend::EventLoop>> MakeEventLoop(
    sysv::backend::EventLoopKind kind);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_EVENT_LOOP_SELECTOR_H_

#include "backends/dragonfly/process_handle.h"

#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/kqueue_sys.h"
#include "backends/dragonfly/process_watch.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {

absl::StatusOr<sysv::backend::UniqueFd> OpenProcessHandle(pid_t pid) {
  if (pid <= 0) return core::ErrnoStatus(ESRCH, absl::StrCat("process handle for pid ", pid));
  const int kq = KqueueOpen();
  if (kq < 0) return core::ErrnoStatus(errno, "kqueue");
  KEvent change;
  change.ident = static_cast<uintptr_t>(pid);
  change.filter = kFilterProc;
  change.flags = kFlagAdd;
  change.fflags = kNoteExit;
  if (Kevent(kq, &change, 1, nullptr, 0, nullptr) != 0) {
    const int err = errno;
    KqueueClose(kq);
    return core::ErrnoStatus(err, absl::StrCat("kevent(EVFILT_PROC, pid ", pid, ")"));
  }
  return sysv::backend::UniqueFd(kq);
}

bool ProcessHandleExited(int process_fd) {
  const int saved = errno;
  struct pollfd ready = {process_fd, POLLIN, 0};
  int polled;
  do {
    polled = poll(&ready, 1, 0);
  } while (polled < 0 && errno == EINTR);
  errno = saved;
  return polled != 0;
}

int SignalProcess(int process_fd, pid_t pid, int signal) {
  if (ProcessHandleExited(process_fd)) {
    errno = ESRCH;
    return -1;
  }
  return kill(pid, signal);
}

absl::StatusOr<ProcessInstance> PeerProcess(int /*socket_fd*/, pid_t pid, uid_t euid) {
  absl::StatusOr<sysv::backend::UniqueFd> handle = OpenProcessHandle(pid);
  if (!handle.ok()) return handle.status();
  absl::StatusOr<uint64_t> start = ProcessStartTime(pid);
  if (!start.ok()) return start.status();
  absl::StatusOr<uid_t> uid = ProcessEffectiveUid(pid);
  if (!uid.ok()) return uid.status();
  if (*uid != euid) {
    return core::ErrnoStatus(ESRCH, absl::StrCat("pid ", pid, " runs as uid ", *uid, ", not the peer's ", euid));
  }
  if (!ProcessAlive(pid, *start) || ProcessHandleExited(handle->get())) {
    return core::ErrnoStatus(ESRCH, absl::StrCat("process ", pid, " exited"));
  }
  return ProcessInstance{*std::move(handle), pid, *start};
}

}  // namespace sysv::dragonfly_backend

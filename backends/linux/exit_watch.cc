#include "backends/linux/exit_watch.h"

#include <sys/epoll.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

absl::StatusOr<ExitWatch> ExitWatch::Create() {
  backend::UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) {
    const int err = errno;
    return core::ErrnoStatus(err, absl::StrFormat("epoll_create1: %s", std::strerror(err)));
  }
  return ExitWatch(std::move(epoll));
}

absl::Status ExitWatch::Add(pid_t pid, int pidfd) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = static_cast<uint64_t>(pid);
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pidfd, &event) != 0) {
    const int err = errno;
    return core::ErrnoStatus(err, absl::StrFormat("watch pid %d: %s", pid, std::strerror(err)));
  }
  return absl::OkStatus();
}

void ExitWatch::Remove(int pidfd) { epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, pidfd, nullptr); }

std::vector<pid_t> ExitWatch::Exited() {
  std::vector<pid_t> exited;
  epoll_event events[64];
  int n;
  do {
    n = epoll_wait(epoll_.get(), events, 64, 0);
  } while (n < 0 && errno == EINTR);
  for (int i = 0; i < n; ++i) exited.push_back(static_cast<pid_t>(events[i].data.u64));
  return exited;
}

}  // namespace sysv::linux_backend

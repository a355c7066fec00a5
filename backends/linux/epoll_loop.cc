#include "backends/linux/epoll_loop.h"

#include <fcntl.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoStatus;

// Events per epoll_wait(); more ready fds are simply reported by the next
// call, since the loop is level-triggered.
constexpr int kMaxEvents = 256;

// epoll_event.data packs the fd (low 32 bits) and the registration's
// generation (high 32 bits).
uint64_t Encode(int fd, uint32_t generation) {
  return (uint64_t{generation} << 32) | static_cast<uint32_t>(fd);
}
int DecodeFd(uint64_t data) { return static_cast<int>(data & 0xffffffffu); }
uint32_t DecodeGeneration(uint64_t data) {
  return static_cast<uint32_t>(data >> 32);
}

}  // namespace

absl::StatusOr<std::unique_ptr<EpollLoop>> EpollLoop::Create() {
  const int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "epoll_create1");
  return std::unique_ptr<EpollLoop>(new EpollLoop(UniqueFd(fd)));
}

absl::Status EpollLoop::Watch(int fd, std::function<void()> on_readable) {
  if (fd < 0) return ErrnoStatus(EBADF, absl::StrCat("watch fd ", fd));
  if (watchers_.contains(fd)) {
    return ErrnoStatus(EEXIST, absl::StrCat("fd ", fd, " is already watched"));
  }
  const uint32_t generation = next_generation_++;
  // Level-triggered (no EPOLLET): readiness is reported on every
  // epoll_wait() while it lasts. EPOLLHUP and EPOLLERR are always reported.
  // EPOLLRDHUP reports a peer's shutdown(SHUT_WR) on a socket.
  struct epoll_event event = {};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.u64 = Encode(fd, generation);
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return ErrnoStatus(errno, absl::StrCat("epoll_ctl(ADD, fd ", fd, ")"));
  }
  watchers_.emplace(fd, std::make_unique<Watcher>(
                            Watcher{generation, std::move(on_readable)}));
  return absl::OkStatus();
}

void EpollLoop::Unwatch(int fd) {
  auto it = watchers_.find(fd);
  if (it == watchers_.end()) return;
  // EBADF/ENOENT mean the fd was closed first (the kernel already dropped
  // the registration); nothing is left to undo, so the result is ignored.
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (dispatching_) retired_.push_back(std::move(it->second));
  watchers_.erase(it);
}

absl::Status EpollLoop::Run() {
  struct epoll_event events[kMaxEvents];
  bool worked = false;  // the last batch ran a callback
  while (!stop_requested_) {
    // The poll window (EventLoop::SetPollWindow): epoll_wait() with a zero
    // timeout until something is ready; its error, if any, is the one the
    // sleeping call below reports.
    int count = 0;
    if (worked && window_.enabled()) {
      window_.Await([&] {
        count = epoll_wait(epoll_fd_.get(), events, kMaxEvents, 0);
        return count != 0;
      });
    }
    if (count == 0) {
      ++sleeps_;
      count = epoll_wait(epoll_fd_.get(), events, kMaxEvents, -1);
    }
    if (count < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "epoll_wait");
    }
    worked = false;
    dispatching_ = true;
    for (int i = 0; i < count && !stop_requested_; ++i) {
      const uint64_t data = events[i].data.u64;
      auto it = watchers_.find(DecodeFd(data));
      // Unwatched (or unwatched and watched again) by an earlier callback of
      // this batch: the event belongs to a registration that is gone.
      if (it == watchers_.end() ||
          it->second->generation != DecodeGeneration(data)) {
        continue;
      }
      // Call through the heap object, which outlives an Unwatch() made by
      // the callback itself (it moves to retired_).
      Watcher* watcher = it->second.get();
      watcher->on_readable();
      worked = true;
    }
    dispatching_ = false;
    retired_.clear();
  }
  stop_requested_ = false;
  return absl::OkStatus();
}

}  // namespace sysv::linux_backend

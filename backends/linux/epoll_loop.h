// EpollLoop: the EventLoop contract (backends/common/event_loop.h) over
// epoll(7). The fallback wherever io_uring is unavailable, and the baseline
// the io_uring loop is compared against.
#ifndef SYSV_BACKENDS_LINUX_EPOLL_LOOP_H_
#define SYSV_BACKENDS_LINUX_EPOLL_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/event_loop.h"
#include "backends/common/poll_window.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

class EpollLoop final : public sysv::backend::EventLoop {
 public:
  static constexpr char kName[] = "epoll";

  // Creates the epoll instance (close-on-exec). Results: the loop; or the
  // errno of epoll_create1 (EMFILE, ENFILE, ENOMEM) as an ErrnoStatus.
  static absl::StatusOr<std::unique_ptr<EpollLoop>> Create();

  ~EpollLoop() override = default;
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  // EventLoop; see backends/common/event_loop.h for the contract and results.
  const char* name() const override { return kName; }
  absl::Status Watch(int fd, std::function<void()> on_readable) override;
  void Unwatch(int fd) override;
  absl::Status Run() override;
  void Stop() override { stop_requested_ = true; }
  void SetPollWindow(absl::Duration window) override { window_.set_length(window); }
  uint64_t sleeps() const override { return sleeps_; }

 private:
  struct Watcher {
    uint32_t generation;
    std::function<void()> on_readable;
  };

  explicit EpollLoop(sysv::backend::UniqueFd epoll_fd)
      : epoll_fd_(std::move(epoll_fd)) {}

  sysv::backend::UniqueFd epoll_fd_;
  // Every watched fd. A Watcher is heap-allocated so that Unwatch() from
  // inside its own callback can move it to retired_ without destroying the
  // running std::function.
  absl::flat_hash_map<int, std::unique_ptr<Watcher>> watchers_;
  // Watchers unwatched during a dispatch; destroyed once the batch is done.
  std::vector<std::unique_ptr<Watcher>> retired_;
  bool dispatching_ = false;
  bool stop_requested_ = false;
  // Bumped on every Watch() and stored in the event's data, so an event
  // collected for an earlier registration of the same fd number is ignored.
  uint32_t next_generation_ = 0;
  sysv::backend::PollWindow window_;
  uint64_t sleeps_ = 0;
};

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_EPOLL_LOOP_H_

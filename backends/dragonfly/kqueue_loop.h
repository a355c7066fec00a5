// KqueueLoop: the EventLoop contract (backends/common/event_loop.h) over
// kqueue(2), DragonFly's readiness mechanism.
//
// Portable: it calls only kqueue_sys.h (and POSIX fstat), so it builds and
// runs the event loop conformance suite on Linux against the epoll double
// (kqueue_sys_linux_double.cc), and runs on DragonFly against the real
// kevent(2) (kqueue_sys_dragonfly.cc).
//
// Internals:
//   - Each watched fd has one EVFILT_READ registration without EV_CLEAR,
//     which kqueue keeps level-triggered: kqueue_scan() puts a knote that is
//     still readable back on the pending queue after reporting it
//     (sys/kern/kern_event.c), so a callback that reads one message per call
//     is called again while messages remain. A hang-up is reported with
//     EV_EOF, also with no data left.
//   - The registration's udata packs the fd and a generation that changes on
//     every Watch(), so an event collected for an earlier registration of
//     the same fd number (unwatched, closed, reused, watched again during the
//     same batch) is recognised and dropped; the same scheme as EpollLoop.
//   - Watch and Unwatch apply their change at once with kevent(), one system
//     call each, so their errors are synchronous and an Unwatch()ed file is
//     released by the kernel as soon as the caller closes it.
//   - Regular files and directories are refused with EPERM, as epoll refuses
//     them: kqueue would accept them and call them readable whenever the
//     offset is not at the end, which would spin a level-triggered loop.
#ifndef SYSV_BACKENDS_DRAGONFLY_KQUEUE_LOOP_H_
#define SYSV_BACKENDS_DRAGONFLY_KQUEUE_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/event_loop.h"
#include "backends/common/poll_window.h"

namespace sysv::dragonfly_backend {

class KqueueLoop final : public sysv::backend::EventLoop {
 public:
  static constexpr char kName[] = "kqueue";

  // Creates the kqueue (close-on-exec). Results: the loop; or the errno of
  // kqueue() (EMFILE, ENFILE, ENOMEM) or fcntl() as an ErrnoStatus.
  static absl::StatusOr<std::unique_ptr<KqueueLoop>> Create();

  ~KqueueLoop() override;
  KqueueLoop(const KqueueLoop&) = delete;
  KqueueLoop& operator=(const KqueueLoop&) = delete;

  // EventLoop; see backends/common/event_loop.h for the contract and
  // results. Watch() answers EPERM for regular files and directories (see
  // above) and EBADF for a descriptor that is not open.
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

  explicit KqueueLoop(int kq) : kq_(kq) {}

  const int kq_;  // owned; closed through KqueueClose()
  // Every watched fd. A Watcher is heap-allocated so that Unwatch() from
  // inside its own callback can move it to retired_ without destroying the
  // running std::function.
  absl::flat_hash_map<int, std::unique_ptr<Watcher>> watchers_;
  // Watchers unwatched during a dispatch; destroyed once the batch is done.
  std::vector<std::unique_ptr<Watcher>> retired_;
  bool dispatching_ = false;
  bool stop_requested_ = false;
  uint32_t next_generation_ = 0;
  sysv::backend::PollWindow window_;
  uint64_t sleeps_ = 0;
};

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_KQUEUE_LOOP_H_

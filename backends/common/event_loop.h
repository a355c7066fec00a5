// EventLoop: the daemon's readiness loop, one interface for every mechanism.
//
// The daemon waits on its listening socket, one socket per client, and one
// process descriptor per client (pidfd on Linux). Each OS supplies loops
// (Linux: IoUringLoop, EpollLoop; DragonFly: KqueueLoop); which one runs is
// decided at run time by the selector (backends/linux/event_loop_selector.h),
// because io_uring may be compiled in yet refused by the kernel or a seccomp
// filter. The conformance suite backends/common/testing/event_loop_conformance.h
// checks every loop against the contract below.
//
// Threading: a loop belongs to one thread. Watch, Unwatch, Run and Stop are
// called on that thread, from inside callbacks or while Run() is not running;
// none of them is safe to call concurrently from another thread.
#ifndef SYSV_BACKENDS_COMMON_EVENT_LOOP_H_
#define SYSV_BACKENDS_COMMON_EVENT_LOOP_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sysv::backend {

class EventLoop {
 public:
  virtual ~EventLoop() = default;

  // The mechanism's kName ("io_uring", "epoll", "kqueue"), for the daemon's
  // start-up log.
  virtual const char* name() const = 0;

  // Calls `on_readable` on the loop thread whenever `fd` is readable, has hung
  // up, or has an error pending, until Unwatch(fd). Level-triggered: if the
  // callback leaves data unread, it is called again on a later iteration, so
  // a callback may handle one message per call. The loop does not own `fd`;
  // Unwatch it before closing it. Results:
  //   OK                 watched;
  //   EEXIST (errno)     fd is already watched by this loop;
  //   EBADF              fd is not an open descriptor;
  //   EPERM              fd does not support readiness (a regular file, for
  //                      epoll);
  //   ENOMEM, ENOSPC     the kernel is out of resources (epoll's
  //                      max_user_watches, for example).
  // Errors carry the errno via sysv::core::ErrnoStatus.
  virtual absl::Status Watch(int fd, std::function<void()> on_readable) = 0;

  // Stops watching `fd`; a no-op if it is not watched. After it returns the
  // fd's callback is never called again, even if the fd's readiness was
  // already collected in the batch being dispatched. Safe to call from inside
  // any callback, including the one for `fd` itself (that callback object
  // stays alive until it returns). The fd may then be closed, and its number
  // reused and watched again: readiness collected for the old registration
  // never reaches the new callback.
  virtual void Unwatch(int fd) = 0;

  // Dispatches callbacks until Stop() is called, then returns OK. If Stop()
  // was called while no Run() was active, returns OK at once (and clears the
  // request). Returns an error status only if the mechanism itself fails (the
  // epoll or io_uring descriptor), never because of one watched fd.
  virtual absl::Status Run() = 0;

  // After dispatching a batch of callbacks, Run() keeps looking for new
  // readiness, awake and without sleeping, for up to `window` before it
  // sleeps in the kernel (backends/common/poll_window.h: the window adapts,
  // shrinking while it keeps ending in a sleep). A request that arrives
  // inside it is served without the wake-up a sleep costs. Zero, the
  // default, sleeps at once. A loop that dispatched nothing never polls, so
  // an idle loop uses no CPU. Each look is one non-blocking check: a peek at
  // io_uring's completion ring, epoll_wait() or kevent() with a zero
  // timeout. Call it while Run() is not running.
  virtual void SetPollWindow(absl::Duration window) = 0;

  // How many times Run() has asked the kernel to put it to sleep until
  // readiness (io_uring_submit_and_wait, epoll_wait or kevent without a
  // timeout; each such call counts, whether or not it really slept). Polls
  // of the window do not count. For tests and the daemon's statistics.
  virtual uint64_t sleeps() const = 0;

  // Makes the active Run() return once the calling callback returns; no
  // further callbacks are dispatched in that Run(), not even ones whose
  // readiness was already collected (being level-triggered, they are reported
  // again by the next Run()). Called outside Run(), makes the next Run()
  // return at once.
  virtual void Stop() = 0;
};

// Which loop the daemon asked for (its --event_loop flag).
enum class EventLoopKind {
  kAuto,     // io_uring if a real probe succeeds, else epoll (kqueue on BSD)
  kIoUring,  // io_uring or an error naming why not
  kEpoll,
};

// Parses "auto", "io_uring" or "epoll" (exact, lower case). Results: the
// kind; InvalidArgument (EINVAL) naming the accepted values otherwise.
absl::StatusOr<EventLoopKind> ParseEventLoopKind(absl::string_view text);

// The spelling ParseEventLoopKind accepts for `kind`.
const char* EventLoopKindName(EventLoopKind kind);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_EVENT_LOOP_H_

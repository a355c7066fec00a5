// IoUringLoop: the EventLoop contract (backends/common/event_loop.h) over
// io_uring poll requests (liburing 2.3).
//
// Internals:
//   - Each watched fd has one poll request in flight (POLLIN | POLLRDHUP;
//     POLLHUP and POLLERR are always reported). Its user_data packs the fd
//     and a generation that changes on every Watch(), so a completion that
//     belongs to an earlier registration of the same fd number (unwatched,
//     closed, reused, watched again) is recognised and dropped.
//   - Completions are copied out of the CQ before any callback runs, so
//     callbacks may Watch/Unwatch freely (which may submit); the request is
//     re-armed after the callback when its completion came without
//     IORING_CQE_F_MORE and the registration is still live.
//   - The request is a one-shot IORING_OP_POLL_ADD, re-armed after every
//     callback, not a multishot poll (io_uring_prep_poll_multishot). The
//     contract is level-triggered, and a multishot poll is not: it posts a
//     completion when the file's wait queue is woken (data arrives), not
//     while data remains, and io_poll_check_events() folds wakeups that
//     arrive before it runs into one completion. A daemon callback that
//     reads one request per call would then strand a second request that
//     arrived with the first (the conformance test
//     LevelTriggeredCallsAgainWhileDataRemains fails with multishot). A
//     fresh poll request checks the file's state when it is armed, which is
//     exactly level-triggered, and the re-arm costs no extra system call: the
//     SQE goes out with the next io_uring_submit_and_wait().
//   - Unwatch() queues an IORING_OP_POLL_REMOVE for a request still in
//     flight. An in-flight poll holds a reference to the file, so until the
//     remove is processed a close() of the fd does not yet release the file
//     (a socket's peer sees EOF a moment later); removes are therefore
//     submitted at once when Unwatch() is called outside a dispatch, and
//     with the next submit inside one.
//   - The poll window (EventLoop::SetPollWindow): after a batch that ran a
//     callback, the re-arms are submitted and the completion ring is peeked,
//     without a system call, until a completion shows up or the window ends.
//     Peeking is enough (measured on Linux 6.18 with a one-shot POLL_ADD on
//     a SOCK_SEQPACKET socket: 29,333 of 30,000 requests were seen by the
//     peek loop within 50 us, against 29,550 when each look also called
//     io_uring_enter(GETEVENTS), /tmp/spin/uring_pp.c): a poll's wake-up
//     queues task work, and without IORING_SETUP_COOP_TASKRUN the kernel
//     notifies a running task with TWA_SIGNAL, so the task work runs (and
//     posts the completion) on its next return to user space, which the
//     notification itself forces. A ring set up with COOP_TASKRUN or
//     DEFER_TASKRUN would need io_uring_get_events() per look instead.
#ifndef SYSV_BACKENDS_LINUX_IO_URING_LOOP_H_
#define SYSV_BACKENDS_LINUX_IO_URING_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/event_loop.h"
#include "backends/common/poll_window.h"

struct io_uring;       // <liburing.h>; kept out of this header
struct io_uring_sqe;

namespace sysv::linux_backend {

class IoUringLoop final : public sysv::backend::EventLoop {
 public:
  static constexpr char kName[] = "io_uring";

  // Sets up a ring. Results: the loop; or the errno of io_uring_setup(2) as
  // an ErrnoStatus: ENOSYS (kernel without io_uring), EPERM (disabled by
  // the io_uring_disabled sysctl or refused by a seccomp filter), ENOMEM,
  // EMFILE. It does not probe opcodes; the selector does
  // (backends/linux/event_loop_selector.h).
  static absl::StatusOr<std::unique_ptr<IoUringLoop>> Create();

  // Tears the ring down, which cancels every request in flight.
  ~IoUringLoop() override;
  IoUringLoop(const IoUringLoop&) = delete;
  IoUringLoop& operator=(const IoUringLoop&) = delete;

  // EventLoop; see backends/common/event_loop.h for the contract and results.
  // Watch() additionally fails with EBUSY if no submission slot can be had
  // (the kernel refused to take queued submissions).
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
    bool armed;  // a poll request for this registration is in flight
    std::function<void()> on_readable;
  };

  explicit IoUringLoop(std::unique_ptr<struct io_uring> ring);

  // A free SQE, submitting queued ones first if the SQ is full; nullptr if
  // none can be had.
  struct io_uring_sqe* GetSqe();
  // Queues a poll request for `fd` under `generation`; false if no SQE.
  bool Arm(int fd, uint32_t generation);
  // Queues the POLL_REMOVEs and re-arms still waiting for an SQE.
  void QueuePending();
  // Handles one completion (copied out of the CQ). Returns true if it ran
  // the fd's callback.
  bool Dispatch(uint64_t user_data, int32_t res, uint32_t flags);

  std::unique_ptr<struct io_uring> ring_;
  // See EpollLoop: heap-allocated so a callback may Unwatch itself.
  absl::flat_hash_map<int, std::unique_ptr<Watcher>> watchers_;
  std::vector<std::unique_ptr<Watcher>> retired_;
  // user_data of in-flight polls to cancel, waiting for SQ space.
  std::vector<uint64_t> pending_removes_;
  // user_data (fd, generation) of registrations to re-arm, waiting for SQ
  // space; dropped if the registration is gone by then.
  std::vector<uint64_t> pending_arms_;
  bool dispatching_ = false;
  bool stop_requested_ = false;
  uint32_t next_generation_ = 0;
  sysv::backend::PollWindow window_;
  uint64_t sleeps_ = 0;
};

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_IO_URING_LOOP_H_

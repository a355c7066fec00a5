#include "backends/linux/io_uring_loop.h"

#include <liburing.h>
#include <poll.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::core::ErrnoStatus;

// Submission queue size. Watch() of more fds than this before Run() just
// submits in chunks.
constexpr unsigned kSqEntries = 256;
// Completion queue size: one completion per watched fd can be pending at
// once (one request each), plus removes. Kernels since 5.5
// (IORING_FEAT_NODROP) keep overflowing completions rather than drop them,
// so this is a performance bound, not a correctness one.
constexpr unsigned kCqEntries = 4096;
// Completions copied out per iteration.
constexpr unsigned kMaxBatch = 256;

constexpr unsigned kPollMask = POLLIN | POLLRDHUP;

// user_data layout: bit 63 marks our own bookkeeping requests (POLL_REMOVE),
// whose completions carry nothing; bits 32..62 hold the registration's
// generation; bits 0..31 the fd.
constexpr uint64_t kInternalBit = uint64_t{1} << 63;
constexpr uint32_t kGenerationMask = 0x7fffffffu;

uint64_t Encode(int fd, uint32_t generation) {
  return (uint64_t{generation & kGenerationMask} << 32) |
         static_cast<uint32_t>(fd);
}
int DecodeFd(uint64_t user_data) {
  return static_cast<int>(user_data & 0xffffffffu);
}
uint32_t DecodeGeneration(uint64_t user_data) {
  return static_cast<uint32_t>(user_data >> 32) & kGenerationMask;
}

// Errors after which a poll request is worth re-arming: the request was
// cancelled or the kernel was briefly short of memory. Anything else (EBADF:
// the fd was closed while watched; EINVAL) would fail again at once, so the
// registration goes quiet until Unwatch(), as epoll silently forgets a
// closed fd.
bool Transient(int32_t res) {
  return res == -ECANCELED || res == -ENOMEM || res == -EAGAIN ||
         res == -EINTR;
}

}  // namespace

absl::StatusOr<std::unique_ptr<IoUringLoop>> IoUringLoop::Create() {
  auto ring = std::make_unique<struct io_uring>();
  struct io_uring_params params;
  std::memset(&params, 0, sizeof(params));
  params.flags = IORING_SETUP_CQSIZE;
  params.cq_entries = kCqEntries;
  const int rc = io_uring_queue_init_params(kSqEntries, ring.get(), &params);
  if (rc < 0) return ErrnoStatus(-rc, "io_uring_queue_init");
  return std::unique_ptr<IoUringLoop>(new IoUringLoop(std::move(ring)));
}

IoUringLoop::IoUringLoop(std::unique_ptr<struct io_uring> ring)
    : ring_(std::move(ring)) {}

IoUringLoop::~IoUringLoop() { io_uring_queue_exit(ring_.get()); }

struct io_uring_sqe* IoUringLoop::GetSqe() {
  struct io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe != nullptr) return sqe;
  // The SQ is full of requests not yet handed to the kernel.
  io_uring_submit(ring_.get());
  return io_uring_get_sqe(ring_.get());
}

bool IoUringLoop::Arm(int fd, uint32_t generation) {
  struct io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return false;
  // One-shot, not io_uring_prep_poll_multishot: see io_uring_loop.h.
  io_uring_prep_poll_add(sqe, fd, kPollMask);
  io_uring_sqe_set_data64(sqe, Encode(fd, generation));
  return true;
}

void IoUringLoop::QueuePending() {
  size_t queued = 0;
  for (; queued < pending_removes_.size(); ++queued) {
    struct io_uring_sqe* sqe = GetSqe();
    if (sqe == nullptr) break;
    io_uring_prep_poll_remove(sqe, pending_removes_[queued]);
    io_uring_sqe_set_data64(sqe, kInternalBit);
  }
  pending_removes_.erase(pending_removes_.begin(),
                         pending_removes_.begin() + queued);

  std::vector<uint64_t> arms;
  arms.swap(pending_arms_);
  for (const uint64_t user_data : arms) {
    const int fd = DecodeFd(user_data);
    auto it = watchers_.find(fd);
    // Only a registration that is still live and still unarmed.
    if (it == watchers_.end() ||
        it->second->generation != DecodeGeneration(user_data) ||
        it->second->armed) {
      continue;
    }
    it->second->armed = Arm(fd, it->second->generation);
    if (!it->second->armed) pending_arms_.push_back(user_data);
  }
}

absl::Status IoUringLoop::Watch(int fd, std::function<void()> on_readable) {
  if (fd < 0) return ErrnoStatus(EBADF, absl::StrCat("watch fd ", fd));
  if (watchers_.contains(fd)) {
    return ErrnoStatus(EEXIST, absl::StrCat("fd ", fd, " is already watched"));
  }
  // A poll request reports a bad fd only in its completion, and polls a
  // regular file or directory as always ready; check here, so that Watch()
  // fails as epoll_ctl(EPOLL_CTL_ADD) does.
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("watch fd ", fd));
  }
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    return ErrnoStatus(EPERM,
                       absl::StrCat("fd ", fd, " does not support polling"));
  }
  const uint32_t generation = next_generation_++ & kGenerationMask;
  if (!Arm(fd, generation)) {
    return ErrnoStatus(EBUSY, absl::StrCat("no io_uring SQE to watch fd ", fd));
  }
  watchers_.emplace(fd, std::make_unique<Watcher>(Watcher{
                            generation, /*armed=*/true, std::move(on_readable)}));
  return absl::OkStatus();
}

void IoUringLoop::Unwatch(int fd) {
  auto it = watchers_.find(fd);
  if (it == watchers_.end()) return;
  if (it->second->armed) {
    pending_removes_.push_back(Encode(fd, it->second->generation));
    QueuePending();
    // Outside a dispatch no submit may come soon; hand the remove over now so
    // the poll drops its reference to the file (see io_uring_loop.h).
    if (!dispatching_) io_uring_submit(ring_.get());
  }
  if (dispatching_) retired_.push_back(std::move(it->second));
  watchers_.erase(it);
}

bool IoUringLoop::Dispatch(uint64_t user_data, int32_t res, uint32_t flags) {
  if ((user_data & kInternalBit) != 0) return false;  // a POLL_REMOVE completed
  const int fd = DecodeFd(user_data);
  const uint32_t generation = DecodeGeneration(user_data);
  auto it = watchers_.find(fd);
  // Stale: the registration this request belonged to was unwatched (and
  // perhaps replaced by a new one for the same fd number).
  if (it == watchers_.end() || it->second->generation != generation) return false;
  Watcher* watcher = it->second.get();
  if ((flags & IORING_CQE_F_MORE) == 0) watcher->armed = false;
  if (res < 0 && !Transient(res)) return false;  // stays quiet; see Transient()
  // After Stop() the rest of the batch is not dispatched, only re-armed: the
  // readiness is reported again by the next Run().
  const bool called = res >= 0 && !stop_requested_;
  if (called) watcher->on_readable();
  // The callback may have unwatched (and even re-watched) the fd; re-arm only
  // the registration this completion belongs to, if still live.
  it = watchers_.find(fd);
  if (it == watchers_.end() || it->second->generation != generation ||
      it->second->armed) {
    return called;
  }
  // No SQE only if the kernel would not take the queued ones (GetSqe()
  // submits first); try again before the next wait.
  it->second->armed = Arm(fd, generation);
  if (!it->second->armed) pending_arms_.push_back(user_data);
  return called;
}

absl::Status IoUringLoop::Run() {
  struct Completion {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
  };
  Completion batch[kMaxBatch];
  struct io_uring_cqe* cqes[kMaxBatch];
  bool worked = false;  // the last batch ran a callback
  while (!stop_requested_) {
    QueuePending();
    bool polled = false;
    if (worked && window_.enabled()) {
      // The re-arms go to the kernel first: a poll not armed reports
      // nothing. A failed submit leaves them queued for the wait below.
      if (io_uring_sq_ready(ring_.get()) > 0) io_uring_submit(ring_.get());
      polled = window_.Await([this] { return io_uring_cq_ready(ring_.get()) > 0; });
    }
    if (!polled) {
      ++sleeps_;
      const int rc = io_uring_submit_and_wait(ring_.get(), 1);
      // EINTR: a signal; EBUSY/EAGAIN: completions must be reaped (CQ
      // overflow backlog) or the kernel is short of resources right now. In
      // each case reap what is there and go round again.
      if (rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
        return ErrnoStatus(-rc, "io_uring_submit_and_wait");
      }
    }
    const unsigned count = io_uring_peek_batch_cqe(ring_.get(), cqes, kMaxBatch);
    for (unsigned i = 0; i < count; ++i) {
      batch[i] = Completion{cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
    }
    io_uring_cq_advance(ring_.get(), count);
    dispatching_ = true;
    worked = false;
    for (unsigned i = 0; i < count; ++i) {
      if (Dispatch(batch[i].user_data, batch[i].res, batch[i].flags)) worked = true;
    }
    dispatching_ = false;
    retired_.clear();
  }
  stop_requested_ = false;
  // Hand over what the last batch queued, above all POLL_REMOVEs: until they
  // reach the kernel, the polls keep the files of unwatched (and perhaps
  // closed) fds open. Re-arms may wait for the next Run().
  QueuePending();
  if (io_uring_sq_ready(ring_.get()) > 0) io_uring_submit(ring_.get());
  return absl::OkStatus();
}

}  // namespace sysv::linux_backend

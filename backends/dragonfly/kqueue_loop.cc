#include "backends/dragonfly/kqueue_loop.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/dragonfly/kqueue_sys.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::ErrnoStatus;

// udata packs the fd (low 32 bits) and the registration's generation (high
// 32 bits).
uint64_t Encode(int fd, uint32_t generation) {
  return (uint64_t{generation} << 32) | static_cast<uint32_t>(fd);
}
int DecodeFd(uint64_t data) { return static_cast<int>(data & 0xffffffffu); }
uint32_t DecodeGeneration(uint64_t data) {
  return static_cast<uint32_t>(data >> 32);
}

KEvent ReadChange(int fd, uint16_t flags, uint64_t udata) {
  KEvent change;
  change.ident = static_cast<uintptr_t>(fd);
  change.filter = kFilterRead;
  change.flags = flags;
  change.udata = udata;
  return change;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KqueueLoop>> KqueueLoop::Create() {
  const int kq = KqueueOpen();
  if (kq < 0) return ErrnoStatus(errno, "kqueue");
  return std::unique_ptr<KqueueLoop>(new KqueueLoop(kq));
}

KqueueLoop::~KqueueLoop() { KqueueClose(kq_); }

absl::Status KqueueLoop::Watch(int fd, std::function<void()> on_readable) {
  if (fd < 0) return ErrnoStatus(EBADF, absl::StrCat("watch fd ", fd));
  if (watchers_.contains(fd)) {
    return ErrnoStatus(EEXIST, absl::StrCat("fd ", fd, " is already watched"));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fstat fd ", fd));
  }
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    return ErrnoStatus(EPERM, absl::StrCat("fd ", fd,
                                           " is a file, always readable"));
  }
  const uint32_t generation = next_generation_++;
  const KEvent change = ReadChange(fd, kFlagAdd, Encode(fd, generation));
  if (Kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0) {
    return ErrnoStatus(errno, absl::StrCat("kevent(EV_ADD, fd ", fd, ")"));
  }
  watchers_.emplace(fd, std::make_unique<Watcher>(
                            Watcher{generation, std::move(on_readable)}));
  return absl::OkStatus();
}

void KqueueLoop::Unwatch(int fd) {
  auto it = watchers_.find(fd);
  if (it == watchers_.end()) return;
  // EBADF means the fd was closed first, which already dropped the knote
  // (knote_fdclose()); nothing is left to undo, so the result is ignored.
  const KEvent change = ReadChange(fd, kFlagDelete, 0);
  Kevent(kq_, &change, 1, nullptr, 0, nullptr);
  if (dispatching_) retired_.push_back(std::move(it->second));
  watchers_.erase(it);
}

absl::Status KqueueLoop::Run() {
  KEvent events[kMaxEventsPerCall];
  bool worked = false;  // the last batch ran a callback
  while (!stop_requested_) {
    // The poll window (EventLoop::SetPollWindow): kevent() with a zero
    // timeout until something is ready; its error, if any, is the one the
    // sleeping call below reports.
    int count = 0;
    if (worked && window_.enabled()) {
      static constexpr struct timespec kNoWait = {0, 0};
      window_.Await([&] {
        count = Kevent(kq_, nullptr, 0, events, kMaxEventsPerCall, &kNoWait);
        return count != 0;
      });
    }
    if (count == 0) {
      ++sleeps_;
      count = Kevent(kq_, nullptr, 0, events, kMaxEventsPerCall, nullptr);
    }
    worked = false;
    if (count < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "kevent");
    }
    dispatching_ = true;
    for (int i = 0; i < count && !stop_requested_; ++i) {
      if (events[i].filter != kFilterRead) continue;  // not ours to have
      const uint64_t data = events[i].udata;
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

}  // namespace sysv::dragonfly_backend

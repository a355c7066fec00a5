#include "backends/dragonfly/exit_watch.h"

#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/dragonfly/kqueue_sys.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::ErrnoStatus;

KEvent ExitChange(pid_t pid, uint16_t flags) {
  KEvent change;
  change.ident = static_cast<uintptr_t>(pid);
  change.filter = kFilterProc;
  change.flags = flags;
  change.fflags = (flags & kFlagAdd) != 0 ? kNoteExit : 0;
  change.udata = static_cast<uint64_t>(pid);
  return change;
}

}  // namespace

absl::StatusOr<ExitWatch> ExitWatch::Create() {
  const int kq = KqueueOpen();
  if (kq < 0) return ErrnoStatus(errno, "kqueue");
  return ExitWatch(kq);
}

ExitWatch::ExitWatch(ExitWatch&& other) noexcept
    : kq_(std::exchange(other.kq_, -1)),
      watched_(std::move(other.watched_)),
      exited_(std::move(other.exited_)) {}

ExitWatch& ExitWatch::operator=(ExitWatch&& other) noexcept {
  if (this != &other) {
    if (kq_ >= 0) KqueueClose(kq_);
    kq_ = std::exchange(other.kq_, -1);
    watched_ = std::move(other.watched_);
    exited_ = std::move(other.exited_);
  }
  return *this;
}

ExitWatch::~ExitWatch() {
  if (kq_ >= 0) KqueueClose(kq_);
}

absl::Status ExitWatch::Add(pid_t pid) {
  if (pid <= 0) return ErrnoStatus(ESRCH, absl::StrCat("watch pid ", pid));
  if (watched_.contains(pid)) return absl::OkStatus();
  // A reported exit that was never removed belongs to the process that had
  // this pid before; the caller now means a new one.
  exited_.erase(pid);
  const KEvent change = ExitChange(pid, kFlagAdd);
  if (Kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0) {
    return ErrnoStatus(errno, absl::StrCat("kevent(EVFILT_PROC, pid ", pid, ")"));
  }
  watched_.insert(pid);
  return absl::OkStatus();
}

void ExitWatch::Remove(pid_t pid) {
  if (exited_.erase(pid) > 0) return;  // its one-shot note is already gone
  if (watched_.erase(pid) == 0) return;
  // Deleting also discards an exit that is pending but not yet collected.
  const KEvent change = ExitChange(pid, kFlagDelete);
  Kevent(kq_, &change, 1, nullptr, 0, nullptr);
}

std::vector<pid_t> ExitWatch::Exited() {
  static constexpr struct timespec kNoWait = {0, 0};
  KEvent events[kMaxEventsPerCall];
  for (;;) {
    const int count = Kevent(kq_, nullptr, 0, events, kMaxEventsPerCall, &kNoWait);
    if (count < 0 && errno == EINTR) continue;
    // Another error (EBADF of our own kqueue) cannot happen while the object
    // lives; what was collected before is still reported.
    for (int i = 0; i < count; ++i) {
      if (events[i].filter != kFilterProc ||
          (events[i].fflags & kNoteExit) == 0) {
        continue;
      }
      const pid_t pid = static_cast<pid_t>(events[i].ident);
      if (watched_.erase(pid) > 0) exited_.insert(pid);
    }
    if (count < kMaxEventsPerCall) break;  // drained
  }
  std::vector<pid_t> exited(exited_.begin(), exited_.end());
  std::sort(exited.begin(), exited.end());
  return exited;
}

}  // namespace sysv::dragonfly_backend

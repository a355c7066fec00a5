#include "backends/linux/file_change_watch.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

using core::ErrnoStatus;

absl::StatusOr<FileChangeWatch> FileChangeWatch::Create() {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrFormat("inotify_init1: %s", std::strerror(errno)));
  return FileChangeWatch(backend::UniqueFd(fd));
}

absl::Status FileChangeWatch::Add(int dir_fd, int tag) {
  // inotify takes a path: the directory's own, through our descriptor.
  char path[48];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", dir_fd);
  const int watch = inotify_add_watch(fd_.get(), path, IN_MODIFY | IN_ONLYDIR);
  if (watch < 0) return ErrnoStatus(errno, absl::StrFormat("inotify_add_watch: %s", std::strerror(errno)));
  tag_of_watch_[watch] = tag;
  return absl::OkStatus();
}

std::vector<FileChangeWatch::Change> FileChangeWatch::Read(bool* overflowed) {
  std::vector<Change> changes;
  *overflowed = false;
  alignas(struct inotify_event) char buffer[8192];
  for (;;) {
    const ssize_t n = read(fd_.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t pos = 0; pos + static_cast<ssize_t>(sizeof(struct inotify_event)) <= n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + pos);
      pos += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
      if ((event->mask & IN_Q_OVERFLOW) != 0) *overflowed = true;
      auto tag = tag_of_watch_.find(event->wd);
      if (tag == tag_of_watch_.end() || event->len == 0) continue;
      changes.push_back(Change{tag->second, std::string(event->name, strnlen(event->name, event->len))});
    }
  }
  return changes;
}

absl::StatusOr<bool> RestoreFileExtent(int fd, uint64_t size, bool grow_shorter) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus(errno, absl::StrFormat("fstat: %s", std::strerror(errno)));
  bool changed = false;
  const uint64_t now = static_cast<uint64_t>(st.st_size);
  if (now > size || (now < size && grow_shorter)) {
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      return ErrnoStatus(errno, absl::StrFormat("ftruncate: %s", std::strerror(errno)));
    }
    changed = true;
  }
  // Blocks past the end (fallocate KEEP_SIZE) survive a truncation to the
  // same size: punch them, from the first whole page past the end (the page
  // holding the end is the object's). Only when some may be there: more
  // blocks than the size's pages; so the punch, which the watch reports as
  // a change too, finds nothing to do the next time.
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t pages_end = (size + page - 1) / page * page;
  if (static_cast<uint64_t>(st.st_blocks) * 512 > pages_end) {
    const off_t length = static_cast<off_t>(INT64_MAX - static_cast<int64_t>(pages_end));
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(pages_end), length) != 0 &&
        errno != EOPNOTSUPP) {
      return ErrnoStatus(errno, absl::StrFormat("fallocate: %s", std::strerror(errno)));
    }
    changed = true;
  }
  return changed;
}

}  // namespace sysv::linux_backend

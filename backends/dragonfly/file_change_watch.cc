#include "backends/dragonfly/file_change_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "backends/dragonfly/kqueue_sys.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

using core::ErrnoStatus;

// Cookies below this are directories (their index in dirs_).
constexpr uint64_t kFirstFileCookie = uint64_t{1} << 32;

constexpr uint32_t kFileNotes = kNoteWrite | kNoteExtend | kNoteAttrib | kNoteDelete;

KEvent VnodeChange(int fd, uint16_t flags, uint32_t notes, uint64_t cookie) {
  KEvent change;
  change.ident = static_cast<uintptr_t>(fd);
  change.filter = kFilterVnode;
  change.flags = flags;
  change.fflags = notes;
  change.udata = cookie;
  return change;
}

struct Entry {
  std::string name;
  dev_t dev;
  ino_t ino;
};

// The regular files in `dir_fd` now (symbolic links and the rest are not
// region files: never followed).
std::vector<Entry> RegularFiles(int dir_fd) {
  std::vector<Entry> entries;
  // fdopendir takes the descriptor over: give it one of its own.
  const int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return entries;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return entries;
  }
  while (const struct dirent* entry = readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    entries.push_back(Entry{entry->d_name, st.st_dev, st.st_ino});
  }
  closedir(dir);
  return entries;
}

}  // namespace

absl::StatusOr<FileChangeWatch> FileChangeWatch::Create() {
  const int kq = KqueueOpen();
  if (kq < 0) return ErrnoStatus(errno, absl::StrFormat("kqueue: %s", std::strerror(errno)));
  return FileChangeWatch(kq);
}

FileChangeWatch::FileChangeWatch(FileChangeWatch&& other) noexcept
    : kq_(std::exchange(other.kq_, -1)),
      dirs_(std::move(other.dirs_)),
      files_(std::move(other.files_)),
      next_cookie_(other.next_cookie_),
      missed_(other.missed_) {}

FileChangeWatch& FileChangeWatch::operator=(FileChangeWatch&& other) noexcept {
  if (this != &other) {
    if (kq_ >= 0) KqueueClose(kq_);
    kq_ = std::exchange(other.kq_, -1);
    dirs_ = std::move(other.dirs_);
    files_ = std::move(other.files_);
    next_cookie_ = other.next_cookie_;
    missed_ = other.missed_;
  }
  return *this;
}

FileChangeWatch::~FileChangeWatch() {
  // Closing the kqueue drops every note; the files' descriptors go after.
  if (kq_ >= 0) KqueueClose(kq_);
}

absl::Status FileChangeWatch::Add(int dir_fd, int tag) {
  const int own = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0) return ErrnoStatus(errno, absl::StrFormat("open directory: %s", std::strerror(errno)));
  const int index = static_cast<int>(dirs_.size());
  dirs_.push_back(Dir{tag, backend::UniqueFd(own)});
  const KEvent change = VnodeChange(own, kFlagAdd | kFlagClear, kNoteWrite, static_cast<uint64_t>(index));
  if (Kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0) {
    const int errnum = errno;
    dirs_.pop_back();
    return ErrnoStatus(errnum, absl::StrFormat("kevent EVFILT_VNODE: %s", std::strerror(errnum)));
  }
  // What is there already was made before the daemon watched: the daemon
  // checks its files at start itself, so this first scan reports nothing.
  std::vector<Change> ignored;
  Rescan(index, &ignored);
  return absl::OkStatus();
}

void FileChangeWatch::Unwatch(uint64_t cookie) {
  auto it = files_.find(cookie);
  if (it == files_.end()) return;
  const KEvent change = VnodeChange(it->second.fd.get(), kFlagDelete, 0, cookie);
  Kevent(kq_, &change, 1, nullptr, 0, nullptr);  // closing drops it anyway
  files_.erase(it);
}

void FileChangeWatch::Rescan(int dir, std::vector<Change>* changes) {
  const int dir_fd = dirs_[dir].fd.get();
  std::vector<Entry> entries = RegularFiles(dir_fd);
  std::set<std::pair<std::string, std::pair<dev_t, ino_t>>> present;
  for (const Entry& entry : entries) present.insert({entry.name, {entry.dev, entry.ino}});
  // Let go of files whose name is gone or now names another file.
  std::set<std::string> watched;
  for (auto it = files_.begin(); it != files_.end();) {
    const File& file = it->second;
    auto next = std::next(it);
    if (file.dir == dir) {
      if (present.count({file.name, {file.dev, file.ino}}) == 0) {
        Unwatch(it->first);
      } else {
        watched.insert(file.name);
      }
    }
    it = next;
  }
  for (const Entry& entry : entries) {
    if (watched.count(entry.name) != 0) continue;
    const int fd = openat(dir_fd, entry.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      // Removed since the listing (ENOENT: its directory note will say
      // so), or out of descriptors: then nobody watches it.
      if (errno != ENOENT) missed_ = true;
      continue;
    }
    File file{dir, entry.name, 0, 0, backend::UniqueFd(fd)};
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) continue;  // replaced since the listing
    file.dev = st.st_dev;
    file.ino = st.st_ino;
    const uint64_t cookie = next_cookie_++;
    const KEvent change = VnodeChange(fd, kFlagAdd | kFlagClear, kFileNotes, cookie);
    if (Kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0) {
      missed_ = true;
      continue;
    }
    files_.emplace(cookie, std::move(file));
    changes->push_back(Change{dirs_[dir].tag, entry.name});
  }
}

std::vector<FileChangeWatch::Change> FileChangeWatch::Read(bool* overflowed) {
  std::vector<Change> changes;
  static constexpr struct timespec kNoWait = {0, 0};
  std::set<int> rescans;
  for (;;) {
    KEvent events[kMaxEventsPerCall];
    const int count = Kevent(kq_, nullptr, 0, events, kMaxEventsPerCall, &kNoWait);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;
    for (int i = 0; i < count; ++i) {
      const KEvent& event = events[i];
      if (event.filter != kFilterVnode) continue;
      if (event.udata < kFirstFileCookie) {
        rescans.insert(static_cast<int>(event.udata));
        continue;
      }
      auto it = files_.find(event.udata);
      if (it == files_.end()) continue;  // let go since
      const File& file = it->second;
      if ((event.fflags & (kNoteWrite | kNoteExtend | kNoteAttrib)) != 0) {
        changes.push_back(Change{dirs_[file.dir].tag, file.name});
      }
      // Unlinked: its directory's note makes the rescan that lets it go.
      if ((event.fflags & kNoteDelete) != 0) rescans.insert(file.dir);
    }
    if (count < kMaxEventsPerCall) break;
  }
  for (int dir : rescans) {
    if (dir >= 0 && dir < static_cast<int>(dirs_.size())) Rescan(dir, &changes);
  }
  *overflowed = std::exchange(missed_, false);
  return changes;
}

absl::StatusOr<bool> RestoreFileExtent(int fd, uint64_t size, bool grow_shorter) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus(errno, absl::StrFormat("fstat: %s", std::strerror(errno)));
  const uint64_t now = static_cast<uint64_t>(st.st_size);
  if (now > size || (now < size && grow_shorter)) {
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      return ErrnoStatus(errno, absl::StrFormat("ftruncate: %s", std::strerror(errno)));
    }
    return true;
  }
  return false;
}

}  // namespace sysv::dragonfly_backend

#include "backends/dragonfly/file_change_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

// The pacing timer's ident (EVFILT_TIMER idents are the queue's own).
constexpr uintptr_t kTimerIdent = 1;

// A scan or poll pass is followed by a pause this many times its duration,
// so that pacing keeps the watch's share of the daemon's time near 1/10
// however many files there are.
constexpr int kPauseFactor = 10;
// Scans wait at most this long (a file made in the pause waits for it).
constexpr auto kMaxScanPause = std::chrono::milliseconds(100);
// Polled files are looked at no more often than this.
constexpr auto kPollPeriod = std::chrono::milliseconds(100);

KEvent VnodeChange(int fd, uint16_t flags, uint32_t notes, uint64_t cookie) {
  KEvent change;
  change.ident = static_cast<uintptr_t>(fd);
  change.filter = kFilterVnode;
  change.flags = flags;
  change.fflags = notes;
  change.udata = cookie;
  return change;
}

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// A quarter of the soft RLIMIT_NOFILE: the daemon's connections and
// mapping cache take their own shares (daemon/main.cc, region_cache.h).
size_t DefaultDescriptorLimit() {
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY) return 4096;
  return static_cast<size_t>(nofile.rlim_cur / 4);
}

}  // namespace

absl::StatusOr<FileChangeWatch> FileChangeWatch::Create() { return Create(DefaultDescriptorLimit()); }

absl::StatusOr<FileChangeWatch> FileChangeWatch::Create(size_t max_descriptors) {
  const int kq = KqueueOpen();
  if (kq < 0) return ErrnoStatus(errno, absl::StrFormat("kqueue: %s", std::strerror(errno)));
  return FileChangeWatch(kq, max_descriptors);
}

FileChangeWatch::FileChangeWatch(FileChangeWatch&& other) noexcept
    : kq_(std::exchange(other.kq_, -1)),
      max_descriptors_(other.max_descriptors_),
      descriptors_(std::exchange(other.descriptors_, 0)),
      dirs_(std::move(other.dirs_)),
      files_(std::move(other.files_)),
      next_cookie_(other.next_cookie_),
      scans_(other.scans_),
      entries_scanned_(other.entries_scanned_),
      next_poll_(other.next_poll_),
      timer_armed_(other.timer_armed_) {}

FileChangeWatch& FileChangeWatch::operator=(FileChangeWatch&& other) noexcept {
  if (this != &other) {
    if (kq_ >= 0) KqueueClose(kq_);
    kq_ = std::exchange(other.kq_, -1);
    max_descriptors_ = other.max_descriptors_;
    descriptors_ = std::exchange(other.descriptors_, 0);
    dirs_ = std::move(other.dirs_);
    files_ = std::move(other.files_);
    next_cookie_ = other.next_cookie_;
    scans_ = other.scans_;
    entries_scanned_ = other.entries_scanned_;
    next_poll_ = other.next_poll_;
    timer_armed_ = other.timer_armed_;
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
  dirs_.push_back(Dir{tag, backend::UniqueFd(own), {}, false, {}});
  const KEvent change = VnodeChange(own, kFlagAdd | kFlagClear, kNoteWrite, static_cast<uint64_t>(index));
  if (Kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0) {
    const int errnum = errno;
    dirs_.pop_back();
    return ErrnoStatus(errnum, absl::StrFormat("kevent EVFILT_VNODE: %s", std::strerror(errnum)));
  }
  // What is there already was made before the daemon watched: the daemon
  // checks its files at start itself, so this first scan reports nothing.
  std::vector<Change> ignored;
  Scan(index, &ignored);
  ArmTimer();  // polled files, if the limit was reached
  return absl::OkStatus();
}

bool FileChangeWatch::Watch(int dir, const std::string& name) {
  const int dir_fd = dirs_[dir].fd.get();
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) return false;
  const uint64_t cookie = next_cookie_++;
  File file{dir, name, st.st_ino, scans_, {}, st.st_size, st.st_mtim, st.st_ctim};
  auto [it, inserted] = files_.emplace(cookie, std::move(file));
  dirs_[dir].files[name] = cookie;
  Promote(it->second, cookie);
  return true;
}

void FileChangeWatch::Promote(File& file, uint64_t cookie) {
  if (file.fd.valid() || descriptors_ >= max_descriptors_) return;
  const int fd = openat(dirs_[file.dir].fd.get(), file.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  // Gone since (its directory's note says so) or out of descriptors: it
  // stays polled.
  if (fd < 0) return;
  backend::UniqueFd owned(fd);
  struct stat st;
  // Replaced since the listing: the next scan sees the new entry.
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_ino != file.ino) return;
  const KEvent change = VnodeChange(fd, kFlagAdd | kFlagClear, kFileNotes, cookie);
  if (Kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0) return;  // ENOMEM: polled
  file.fd = std::move(owned);
  ++descriptors_;
}

void FileChangeWatch::Unwatch(uint64_t cookie) {
  auto it = files_.find(cookie);
  if (it == files_.end()) return;
  File& file = it->second;
  if (file.fd.valid()) {
    const KEvent change = VnodeChange(file.fd.get(), kFlagDelete, 0, cookie);
    Kevent(kq_, &change, 1, nullptr, 0, nullptr);  // closing drops it anyway
    --descriptors_;
  }
  Dir& dir = dirs_[file.dir];
  if (auto named = dir.files.find(file.name); named != dir.files.end() && named->second == cookie) {
    dir.files.erase(named);
  }
  files_.erase(it);
}

void FileChangeWatch::Scan(int dir_index, std::vector<Change>* changes) {
  const Clock::time_point start = Clock::now();
  Dir& dir = dirs_[dir_index];
  dir.scan_due = false;
  const uint64_t scan = ++scans_;
  // fdopendir takes the descriptor over: give it one of its own.
  const int fd = openat(dir.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* stream = fd < 0 ? nullptr : fdopendir(fd);
  if (stream == nullptr) {
    if (fd >= 0) close(fd);
    dir.scan_due = true;  // out of descriptors: try again after the pause
    dir.next_scan = start + kMaxScanPause;
    return;
  }
  while (const struct dirent* entry = readdir(stream)) {
    if (entry->d_name[0] == '.' &&
        (entry->d_name[1] == '\0' || (entry->d_name[1] == '.' && entry->d_name[2] == '\0'))) {
      continue;
    }
    // Symbolic links and the rest are not region files: never followed.
    if (entry->d_type != DT_REG && entry->d_type != DT_UNKNOWN) continue;
    ++entries_scanned_;
    const std::string name = entry->d_name;
    if (auto known = dir.files.find(name); known != dir.files.end()) {
      File& file = files_.at(known->second);
      if (file.ino == entry->d_ino) {
        file.scan = scan;
        Promote(file, known->second);  // room may have been made
        continue;
      }
      Unwatch(known->second);  // the name now names another file
    }
    if (Watch(dir_index, name)) changes->push_back(Change{dir.tag, name});
  }
  closedir(stream);
  // Let go of files whose name is gone.
  std::vector<uint64_t> gone;
  for (const auto& [name, cookie] : dir.files) {
    if (files_.at(cookie).scan != scan) gone.push_back(cookie);
  }
  for (uint64_t cookie : gone) Unwatch(cookie);
  const Clock::duration took = Clock::now() - start;
  dir.next_scan = Clock::now() + std::min<Clock::duration>(took * kPauseFactor, kMaxScanPause);
}

void FileChangeWatch::Poll(std::vector<Change>* changes) {
  const Clock::time_point start = Clock::now();
  for (auto& [cookie, file] : files_) {
    if (file.fd.valid()) continue;
    struct stat st;
    Dir& dir = dirs_[file.dir];
    if (fstatat(dir.fd.get(), file.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        static_cast<ino_t>(st.st_ino) != file.ino) {
      dir.scan_due = true;  // gone or replaced: the scan sorts it out
      continue;
    }
    if (st.st_size != file.size || !SameTime(st.st_mtim, file.mtime) || !SameTime(st.st_ctim, file.ctime)) {
      file.size = st.st_size;
      file.mtime = st.st_mtim;
      file.ctime = st.st_ctim;
      changes->push_back(Change{dir.tag, file.name});
    }
  }
  const Clock::duration took = Clock::now() - start;
  next_poll_ = Clock::now() + std::max<Clock::duration>(took * kPauseFactor, kPollPeriod);
}

bool FileChangeWatch::ArmTimer() {
  bool wanted = false;
  Clock::time_point when = Clock::time_point::max();
  for (const Dir& dir : dirs_) {
    if (dir.scan_due) {
      wanted = true;
      when = std::min(when, dir.next_scan);
    }
  }
  if (polled_files() != 0) {
    wanted = true;
    when = std::min(when, next_poll_);
  }
  KEvent change;
  change.ident = kTimerIdent;
  change.filter = kFilterTimer;
  if (!wanted) {
    if (timer_armed_) {
      change.flags = kFlagDelete;
      (void)Kevent(kq_, &change, 1, nullptr, 0, nullptr);
      timer_armed_ = false;
    }
    return true;
  }
  const auto millis = std::chrono::ceil<std::chrono::milliseconds>(when - Clock::now()).count();
  // EV_ADD of an armed timer restarts it with the new period.
  change.flags = kFlagAdd | kFlagOneshot;
  change.data = static_cast<intptr_t>(std::max<int64_t>(1, millis));
  timer_armed_ = Kevent(kq_, &change, 1, nullptr, 0, nullptr) == 0;
  return timer_armed_;
}

std::vector<FileChangeWatch::Change> FileChangeWatch::Read(bool* overflowed) {
  std::vector<Change> changes;
  static constexpr struct timespec kNoWait = {0, 0};
  for (;;) {
    KEvent events[kMaxEventsPerCall];
    const int count = Kevent(kq_, nullptr, 0, events, kMaxEventsPerCall, &kNoWait);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;
    for (int i = 0; i < count; ++i) {
      const KEvent& event = events[i];
      if (event.filter == kFilterTimer) {
        timer_armed_ = false;  // one-shot
        continue;
      }
      if (event.filter != kFilterVnode) continue;
      if (event.udata < kFirstFileCookie) {
        if (event.udata < dirs_.size()) dirs_[event.udata].scan_due = true;
        continue;
      }
      auto it = files_.find(event.udata);
      if (it == files_.end()) continue;  // let go since
      const File& file = it->second;
      if ((event.fflags & (kNoteWrite | kNoteExtend | kNoteAttrib)) != 0) {
        changes.push_back(Change{dirs_[file.dir].tag, file.name});
      }
      // Its last link is gone: this file alone is let go (a file renamed
      // over it is a directory note, and found by the scan).
      if ((event.fflags & kNoteDelete) != 0) Unwatch(event.udata);
    }
    if (count < kMaxEventsPerCall) break;
  }
  const Clock::time_point now = Clock::now();
  for (int dir = 0; dir < static_cast<int>(dirs_.size()); ++dir) {
    if (dirs_[dir].scan_due && dirs_[dir].next_scan <= now) Scan(dir, &changes);
  }
  if (polled_files() != 0 && next_poll_ <= now) Poll(&changes);
  *overflowed = false;
  if (!ArmTimer()) {
    // Without the timer a paced scan would wait for the next note: scan
    // now, and let the daemon look at every file.
    for (int dir = 0; dir < static_cast<int>(dirs_.size()); ++dir) {
      if (dirs_[dir].scan_due) Scan(dir, &changes);
    }
    *overflowed = true;
  }
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

// FileChangeWatch on DragonFly: which files in a few directories had their
// size or contents changed through a descriptor (write(2), ftruncate), so
// that the daemon takes back at once what a client did to a region file
// with the read-write descriptor it was given (DESIGN.md "Trust model",
// rule 3; the role of backends/linux/file_change_watch.h, inotify there).
//
// kqueue has no "any file in this directory" note: EVFILT_VNODE watches one
// vnode, and a directory's NOTE_WRITE (an entry was created, removed or
// renamed) does not say which entry. So:
//   - Each regular file is watched by a read-only descriptor of its own
//     with an EVFILT_VNODE note (NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB |
//     NOTE_DELETE) whose udata names the file: a change is reported from
//     the note alone, and NOTE_DELETE (its last link gone) lets that one
//     file go, with no directory scan.
//   - New files are found by scanning the directory on its NOTE_WRITE. A
//     scan reads the entries (names and inode numbers) and touches only
//     the names it does not know; it reports the files it newly watches as
//     changed (a client may have resized one before its note was in place).
//     Scans are paced: after one, the next waits ten times as long as it
//     took (at most kMaxScanPause), on an EVFILT_TIMER in the same kqueue,
//     so scanning takes about a tenth of the daemon's time at most, however
//     fast files are made. (A scan per file made costs O(n^2) for n files:
//     measured, it was three quarters of the daemon's time in
//     //tests/reliability:load_test, which then timed out.) A file made in
//     the pause is watched, and reported, when the pause ends.
//   - Descriptors are limited (`max_descriptors`; by default a quarter of
//     the soft RLIMIT_NOFILE at Create()). A file beyond the limit, or
//     one that cannot be opened or noted (EMFILE, ENFILE, ENOMEM), is
//     polled instead: stat()ed by name on the timer and reported when its
//     size, mtime or ctime moved. A poll pass is paced like a scan (at
//     least kPollPeriod between passes), so such a file's take-back comes
//     later than a watched one's, never not at all. Polled files take a
//     descriptor again when the limit leaves room, at the next scan.
// Stores through a mapping raise no note on tmpfs, so the hot paths cost
// nothing, as with inotify.
//
// Also here: RestoreFileExtent(), the repair itself.
//
// Portable over kqueue_sys.h: tested on Linux against its double.
#ifndef SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_H_
#define SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_H_

#include <sys/types.h>
#include <time.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::dragonfly_backend {

class FileChangeWatch {
 public:
  // Results: the watch, empty; or the errno of kqueue(). The first form
  // keeps at most a quarter of the soft RLIMIT_NOFILE (read now) for file
  // descriptors; the second at most `max_descriptors`.
  static absl::StatusOr<FileChangeWatch> Create();
  static absl::StatusOr<FileChangeWatch> Create(size_t max_descriptors);

  FileChangeWatch(FileChangeWatch&& other) noexcept;
  FileChangeWatch& operator=(FileChangeWatch&& other) noexcept;
  FileChangeWatch(const FileChangeWatch&) = delete;
  FileChangeWatch& operator=(const FileChangeWatch&) = delete;
  ~FileChangeWatch();

  // Watches the directory `dir_fd` (not owned; a descriptor of its own is
  // kept) and its regular files, reporting their changes under `tag`.
  absl::Status Add(int dir_fd, int tag);

  // Readable while changes are pending, or a paced scan or poll is due.
  int fd() const { return kq_; }

  struct Change {
    int tag = 0;
    std::string name;
  };
  // The changes pending now (drains the kqueue, runs the scans and polls
  // that are due, and sets the timer for the next). `overflowed` is set
  // when a change may have been lost (the timer could not be set and a
  // scan was due): every file of every tag may have changed.
  std::vector<Change> Read(bool* overflowed);

  // How many files hold a descriptor, how many are polled, and how many
  // directory entries all scans so far have read (for tests and logs).
  size_t watched_files() const { return descriptors_; }
  size_t polled_files() const { return files_.size() - descriptors_; }
  uint64_t entries_scanned() const { return entries_scanned_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct File {
    int dir = 0;           // index in dirs_
    std::string name;
    ino_t ino = 0;         // its inode number (readdir's d_ino names it too)
    uint64_t scan = 0;     // the last scan that saw the entry
    backend::UniqueFd fd;  // read-only, carries the note; empty: polled
    // Polled files: what the last stat() said.
    off_t size = 0;
    struct timespec mtime = {0, 0};
    struct timespec ctime = {0, 0};
  };
  struct Dir {
    int tag = 0;
    backend::UniqueFd fd;  // carries the directory's note
    absl::flat_hash_map<std::string, uint64_t> files;  // name -> cookie
    bool scan_due = false;  // a note came and no scan has run since
    Clock::time_point next_scan;  // scans wait until then (pacing)
  };

  FileChangeWatch(int kq, size_t max_descriptors) : kq_(kq), max_descriptors_(max_descriptors) {}
  // Brings the watched files of dirs_[dir] in line with its entries;
  // appends the files newly watched to `changes`.
  void Scan(int dir, std::vector<Change>* changes);
  // Starts watching (or polling) entry `name` of dirs_[dir]; false if it
  // is not a regular file (or is gone).
  bool Watch(int dir, const std::string& name);
  // Gives a polled file a descriptor and a note if the limit allows.
  void Promote(File& file, uint64_t cookie);
  void Unwatch(uint64_t cookie);
  // Stats every polled file; appends those that changed to `changes`.
  void Poll(std::vector<Change>* changes);
  // Sets the timer for the earliest paced scan or poll; false if it could
  // not be set.
  bool ArmTimer();

  int kq_ = -1;  // owned; closed through KqueueClose()
  size_t max_descriptors_ = 0;
  size_t descriptors_ = 0;  // files holding a descriptor
  std::vector<Dir> dirs_;
  // By cookie (the notes' udata): the files watched or polled.
  // Directories' cookies are their index in dirs_ (below kFirstFileCookie).
  absl::flat_hash_map<uint64_t, File> files_;
  uint64_t next_cookie_ = uint64_t{1} << 32;  // kFirstFileCookie
  uint64_t scans_ = 0;
  uint64_t entries_scanned_ = 0;
  Clock::time_point next_poll_;
  bool timer_armed_ = false;
};

// Puts the file `fd` back to at most `size` bytes, and, if `grow_shorter`,
// gives a shorter file its size back. DragonFly has no way to allocate
// past a file's end (no fallocate KEEP_SIZE), so the size is all there is
// to restore. Returns whether anything had to change, or the errno of the
// first call that failed.
absl::StatusOr<bool> RestoreFileExtent(int fd, uint64_t size, bool grow_shorter);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_H_

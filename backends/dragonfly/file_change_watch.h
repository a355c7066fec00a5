// FileChangeWatch on DragonFly: which files in a few directories had their
// size or contents changed through a descriptor (write(2), ftruncate), so
// that the daemon takes back at once what a client did to a region file
// with the read-write descriptor it was given (DESIGN.md "Trust model",
// rule 3; the role of backends/linux/file_change_watch.h, inotify there).
//
// kqueue has no "any file in this directory" note: EVFILT_VNODE watches one
// vnode. So the watch keeps one read-only descriptor per regular file of
// each directory, with an EVFILT_VNODE note (NOTE_WRITE | NOTE_EXTEND |
// NOTE_ATTRIB | NOTE_DELETE), and a note on each directory itself
// (NOTE_WRITE: an entry was created, removed or renamed), on which it
// rescans that directory: new files are watched and reported as changed
// (a client may have resized one before its note was in place), files
// gone are let go. Stores through a mapping raise no note on tmpfs, so the
// hot paths cost nothing, as with inotify. The price is one descriptor per
// region file in the daemon; a file that cannot be watched (EMFILE) makes
// the next Read() say `overflowed` (the daemon then checks every file), and
// is tried again at the next rescan.
//
// Also here: RestoreFileExtent(), the repair itself.
//
// Portable over kqueue_sys.h: tested on Linux against its double.
#ifndef SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_H_
#define SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::dragonfly_backend {

class FileChangeWatch {
 public:
  // Results: the watch, empty; or the errno of kqueue().
  static absl::StatusOr<FileChangeWatch> Create();

  FileChangeWatch(FileChangeWatch&& other) noexcept;
  FileChangeWatch& operator=(FileChangeWatch&& other) noexcept;
  FileChangeWatch(const FileChangeWatch&) = delete;
  FileChangeWatch& operator=(const FileChangeWatch&) = delete;
  ~FileChangeWatch();

  // Watches the directory `dir_fd` (not owned; a descriptor of its own is
  // kept) and its regular files, reporting their changes under `tag`.
  absl::Status Add(int dir_fd, int tag);

  // Readable while changes are pending.
  int fd() const { return kq_; }

  struct Change {
    int tag = 0;
    std::string name;
  };
  // The changes pending now (drains the kqueue). `overflowed` is set when
  // some file could not be watched: every file of every tag may have
  // changed.
  std::vector<Change> Read(bool* overflowed);

 private:
  struct File {
    int dir = 0;  // index in dirs_
    std::string name;
    dev_t dev = 0;
    ino_t ino = 0;
    backend::UniqueFd fd;  // read-only, carries the note
  };
  struct Dir {
    int tag = 0;
    backend::UniqueFd fd;  // carries the directory's note
  };

  explicit FileChangeWatch(int kq) : kq_(kq) {}
  // Brings the watched files of dirs_[dir] in line with its entries;
  // appends the files newly watched to `changes`.
  void Rescan(int dir, std::vector<Change>* changes);
  void Unwatch(uint64_t cookie);

  int kq_ = -1;  // owned; closed through KqueueClose()
  std::vector<Dir> dirs_;
  // By cookie (the notes' udata): the files watched. Directories' cookies
  // are their index in dirs_ (below kFirstFileCookie).
  std::map<uint64_t, File> files_;
  uint64_t next_cookie_ = uint64_t{1} << 32;  // kFirstFileCookie
  bool missed_ = false;  // a file could not be watched since the last Read()
};

// Puts the file `fd` back to at most `size` bytes, and, if `grow_shorter`,
// gives a shorter file its size back. DragonFly has no way to allocate
// past a file's end (no fallocate KEEP_SIZE), so the size is all there is
// to restore. Returns whether anything had to change, or the errno of the
// first call that failed.
absl::StatusOr<bool> RestoreFileExtent(int fd, uint64_t size, bool grow_shorter);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_H_

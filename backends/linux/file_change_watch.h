// FileChangeWatch: which files in a few directories had their size or
// blocks changed through a descriptor (inotify IN_MODIFY: ftruncate,
// fallocate, write(2); never stores through a mapping, so the hot paths
// cost nothing). The daemon watches its state directories with it, to take
// back at once what a client did to a region file with the read-write
// descriptor it was given (DESIGN.md "Trust model", rule 3).
//
// Also here: RestoreFileExtent(), the repair itself.
#ifndef SYSV_BACKENDS_LINUX_FILE_CHANGE_WATCH_H_
#define SYSV_BACKENDS_LINUX_FILE_CHANGE_WATCH_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

class FileChangeWatch {
 public:
  // Results: the watch, empty; or the errno of inotify_init1.
  static absl::StatusOr<FileChangeWatch> Create();

  // Watches the directory `dir_fd` (not owned), reporting its files'
  // changes under `tag`.
  absl::Status Add(int dir_fd, int tag);

  // Readable while changes are pending.
  int fd() const { return fd_.get(); }

  struct Change {
    int tag = 0;
    std::string name;
  };
  // The changes pending now (drains the descriptor). `overflowed` is set
  // when the kernel dropped some: every file of every tag may have changed.
  std::vector<Change> Read(bool* overflowed);

 private:
  explicit FileChangeWatch(backend::UniqueFd fd) : fd_(std::move(fd)) {}
  backend::UniqueFd fd_;
  absl::flat_hash_map<int, int> tag_of_watch_;
};

// Puts the file `fd` back to at most `size` bytes with no blocks beyond
// them: cuts a longer file back, frees whatever was allocated past the end
// (fallocate KEEP_SIZE), and, if `grow_shorter`, gives a shorter file its
// size back. The blocks inside `size` are the object's own and are left as
// they are. Returns whether anything had to change, or the errno of the
// first call that failed.
absl::StatusOr<bool> RestoreFileExtent(int fd, uint64_t size, bool grow_shorter);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_FILE_CHANGE_WATCH_H_

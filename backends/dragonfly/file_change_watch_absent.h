// FileChangeWatch and RestoreFileExtent as the daemon names them
// (backends/linux/file_change_watch.h), ABSENT on DragonFly for now: Create()
// fails with ENOSYS, so the daemon logs that resizes of region files through
// a client's descriptor are not taken back (daemon/server.cc) and goes on
// without the watch; nothing then calls RestoreFileExtent(). The real watch
// (kqueue EVFILT_VNODE with NOTE_EXTEND and NOTE_WRITE per file, and the
// repair by ftruncate) is issue #17's compile-check work, not this file's;
// it replaces this header in platform.h.
#ifndef SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_ABSENT_H_
#define SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_ABSENT_H_

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {

class FileChangeWatch {
 public:
  // Results: always ENOSYS (see the file comment).
  static absl::StatusOr<FileChangeWatch> Create() {
    return core::ErrnoStatus(ENOSYS, "no file change watch on this backend yet");
  }

  // Unreachable: no watch is ever created.
  absl::Status Add(int /*dir_fd*/, int /*tag*/) { return core::ErrnoStatus(ENOSYS, "no file change watch"); }
  int fd() const { return -1; }

  struct Change {
    int tag = 0;
    std::string name;
  };
  std::vector<Change> Read(bool* overflowed) {
    *overflowed = false;
    return {};
  }

 private:
  FileChangeWatch() = default;
};

// Results: always ENOSYS; called only for changes a FileChangeWatch saw.
inline absl::StatusOr<bool> RestoreFileExtent(int /*fd*/, uint64_t /*size*/, bool /*grow_shorter*/) {
  return core::ErrnoStatus(ENOSYS, "no file extent repair on this backend yet");
}

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_FILE_CHANGE_WATCH_ABSENT_H_

// What descriptors a process holds, by file identity: the daemon's way to
// recount a re-adopted client's shared memory grants after a restart
// (backends/linux/held_files.h reads /proc/<pid>/fd). DragonFly has no
// unprivileged way to learn another process's open files by device and
// inode (sysctl kern.file's struct kinfo_file has no inode; fstat(1) reads
// kernel memory), so here it is ENOSYS: after a daemon restart the grants
// of a re-adopted client for the segments it held are not recovered (the
// daemon logs "its attachments are not counted", daemon/shm_service.cc).
#ifndef SYSV_BACKENDS_DRAGONFLY_HELD_FILES_H_
#define SYSV_BACKENDS_DRAGONFLY_HELD_FILES_H_

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {

struct HeldFile {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool writable = false;
};

inline absl::StatusOr<std::vector<HeldFile>> ProcessHeldFiles(pid_t /*pid*/, size_t /*max_descriptors*/) {
  return core::ErrnoStatus(ENOSYS, "DragonFly cannot list another process's files by inode");
}

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_HELD_FILES_H_

// The files a process holds descriptors of, as the kernel lists them in
// /proc/<pid>/fd: what a daemon restarted under live clients can learn of
// the descriptors it handed them before (grants), without believing
// anything the clients wrote.
//
// Reading another process's descriptor table needs ptrace read access
// (PTRACE_MODE_READ_FSCREDS): root, or the same uid as a dumpable process.
#ifndef SYSV_BACKENDS_LINUX_HELD_FILES_H_
#define SYSV_BACKENDS_LINUX_HELD_FILES_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace sysv::linux_backend {

// One open descriptor: the file it names and how it was opened.
struct HeldFile {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool writable = false;
};

// The descriptors of process `pid`, at most `max_descriptors` of them (in
// the order /proc lists them; a process holding more is read only that
// far, so that one process cannot make the caller work without bound).
// Descriptors that are not files (sockets, pipes, anonymous inodes) are
// included; the caller matches what it knows. Results: the files;
// ESRCH if there is no such process; EACCES or EPERM if its table may not
// be read.
absl::StatusOr<std::vector<HeldFile>> ProcessHeldFiles(pid_t pid, size_t max_descriptors);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_HELD_FILES_H_

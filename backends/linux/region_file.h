// Region files: one file per IPC object in the daemon's private state
// directory (DESIGN.md, decision 2), and their shared mappings.
//
// The POSIX part (create, open, unlink, size, map) is shared with the other
// backends: backends/common/posix_region_file.h documents it. Linux adds
// ReopenReadOnly(), which needs no name: clients never open region files by
// name, they receive descriptors, made read-only here when the permission
// check grants only read.
#ifndef SYSV_BACKENDS_LINUX_REGION_FILE_H_
#define SYSV_BACKENDS_LINUX_REGION_FILE_H_

#include "absl/status/statusor.h"
#include "backends/common/posix_region_file.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

using ::sysv::backend::CreateRegionFile;
using ::sysv::backend::FileSize;
using ::sysv::backend::MappedRegion;
using ::sysv::backend::OpenRegionFile;
using ::sysv::backend::ReopenReadOnlyAt;
using ::sysv::backend::UnlinkRegionFile;

// A new read-only descriptor of the file `fd` refers to, even if the file's
// name is gone: a fresh open of /proc/self/fd/N (dup() would share the
// read-write open file description). Results: the descriptor; EBADF for a
// closed or negative fd; the errno of open() otherwise (ENOENT without
// /proc).
absl::StatusOr<sysv::backend::UniqueFd> ReopenReadOnly(int fd);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_REGION_FILE_H_

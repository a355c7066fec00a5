// Files a process makes for itself to hand out as if they were another's
// (the role of backends/linux/content_file.h), without memfd or
// /proc/self/fd: a short-lived file in /tmp, opened again as the caller
// asked and unlinked, and the process's open descriptors found by poll(2).
//
// DragonFly has no kernel files for libsysv to emulate (no /proc/sysvipc;
// its ipcs reads kern.ipc.* sysctls), so on DragonFly itself nothing calls
// these; --config=dragonfly_doubles, on Linux under glibc, does (it serves
// Linux's files through this backend).
#ifndef SYSV_BACKENDS_DRAGONFLY_CONTENT_FILE_H_
#define SYSV_BACKENDS_DRAGONFLY_CONTENT_FILE_H_

#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::dragonfly_backend {

// A descriptor of a new unnamed file holding `content`, open with the
// access mode, O_CLOEXEC and O_NONBLOCK of `flags` (open(2)'s) and offset
// 0. The file is made 0600 under a random name (0400 when read-only, so
// that in the instant it has a name even its owner's processes can only
// read it), opened again with the caller's mode and unlinked: a read-only descriptor's file can
// then never change (no one holds it open for writing, and no name is
// left to open). Opens by the system call itself, past any interposer of
// open(). Errors: the errno of mkostemp, pwrite, fchmod or the reopen.
absl::StatusOr<backend::UniqueFd> OpenContentFile(std::string_view content, int flags);

// Calls `visit` with each descriptor open in the process, found by poll(2)
// over every number below getdtablesize() (DragonFly lists no process's
// descriptors without procfs). False when poll fails.
bool ForEachOpenDescriptor(absl::FunctionRef<void(int fd)> visit);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_CONTENT_FILE_H_

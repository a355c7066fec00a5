// Files a process makes for itself to hand out as if they were another's
// (compat/proc_files.cc serves the kernel's System V IPC files this way):
// an unnamed file holding given text, opened as the caller asked, and the
// list of the process's open descriptors.
#ifndef SYSV_BACKENDS_LINUX_CONTENT_FILE_H_
#define SYSV_BACKENDS_LINUX_CONTENT_FILE_H_

#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

// A descriptor of a new unnamed file holding `content`, open with the
// access mode, O_CLOEXEC and O_NONBLOCK of `flags` (open(2)'s) and offset
// 0. A read-only one can never change (a memfd sealed against write, grow
// and shrink before it is reopened read-only through /proc/self/fd). Makes
// no call through the C library's interposable open/write. Errors: the
// errno of memfd_create, write, fcntl or the reopen.
absl::StatusOr<backend::UniqueFd> OpenContentFile(std::string_view content, int flags);

// Calls `visit` with each descriptor open in the process (its own working
// descriptor aside), read from /proc/self/fd with the system calls
// themselves. False when the list could not be read whole.
bool ForEachOpenDescriptor(absl::FunctionRef<void(int fd)> visit);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_CONTENT_FILE_H_

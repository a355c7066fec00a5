// absl::Status values that carry an exact errno.
//
// Our Abseil's ErrnoToStatus() is lossy (EINVAL and E2BIG both become
// kInvalidArgument; EPERM and EACCES both kPermissionDenied), but a status
// that crosses the wire or reaches the POSIX surface must become the errno the
// kernel would give. These two helpers are the only place that sets and reads
// the payload.
#ifndef SYSV_CORE_IPC_ERRNO_STATUS_H_
#define SYSV_CORE_IPC_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sysv::core {

// Returns a non-OK status whose code follows the errno and whose payload is
// the errno itself. `errnum` must be a positive errno value.
absl::Status ErrnoStatus(int errnum, absl::string_view message);

// The errno a status stands for: 0 for OK, the payload when present, and a
// best-effort mapping of the code otherwise (EIO for anything unmapped).
int ErrnoOf(const absl::Status& status);

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_ERRNO_STATUS_H_

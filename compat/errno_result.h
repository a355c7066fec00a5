// The one place the POSIX surface sets errno.
#ifndef SYSV_COMPAT_ERRNO_RESULT_H_
#define SYSV_COMPAT_ERRNO_RESULT_H_

#include <cerrno>

#include "absl/status/status.h"
#include "core/ipc/errno_status.h"

namespace sysv::compat {

// Sets errno to `err` and returns -1, as a failing system call does.
inline int FailWithErrno(int err) {
  errno = err;
  return -1;
}

// The same for a status (its exact errno, see core/ipc/errno_status.h).
inline int FailWithStatus(const absl::Status& status) {
  return FailWithErrno(core::ErrnoOf(status));
}

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_ERRNO_RESULT_H_

#include "backends/linux/region_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

absl::StatusOr<sysv::backend::UniqueFd> ReopenReadOnly(int fd) {
  using sysv::backend::UniqueFd;
  if (fd < 0) return core::ErrnoStatus(EBADF, "reopen read-only: bad fd");
  const std::string path = absl::StrCat("/proc/self/fd/", fd);
  UniqueFd reopened(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!reopened) {
    // A closed fd shows up as a missing /proc entry.
    const int errnum = (errno == ENOENT && fcntl(fd, F_GETFD) < 0) ? EBADF : errno;
    return core::ErrnoStatus(errnum, absl::StrCat("reopen ", path, " read-only"));
  }
  return reopened;
}

}  // namespace sysv::linux_backend

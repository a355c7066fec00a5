#include "backends/linux/sealed_snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

absl::StatusOr<sysv::backend::UniqueFd> SealedSnapshot(const char* name,
                                                       absl::Span<const unsigned char> bytes) {
  using sysv::backend::UniqueFd;
  UniqueFd fd(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return core::ErrnoStatus(errno, "memfd_create");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::ErrnoStatus(n < 0 ? errno : EIO, "write snapshot");
    done += static_cast<size_t>(n);
  }
  if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    return core::ErrnoStatus(errno, "seal snapshot");
  }
  return fd;
}

}  // namespace sysv::linux_backend

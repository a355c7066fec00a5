#include "backends/linux/sealed_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

namespace {
constexpr int kRegionSeals = F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;
}  // namespace

absl::StatusOr<sysv::backend::UniqueFd> CreateSealedRegion(const char* name, uint64_t size) {
  using sysv::backend::UniqueFd;
  if (size > static_cast<uint64_t>(INT64_MAX)) return core::ErrnoStatus(EFBIG, "sealed region too large");
  UniqueFd fd(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return core::ErrnoStatus(errno, "memfd_create");
  // A memfd is made 0777: anyone holding a read-only descriptor could
  // reopen it read-write through /proc/self/fd. Only its owner (the
  // daemon's user) may, as with a 0600 region file.
  if (fchmod(fd.get(), 0600) != 0) return core::ErrnoStatus(errno, "chmod a sealed region");
  if (ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return core::ErrnoStatus(errno, "size a sealed region");
  if (fcntl(fd.get(), F_ADD_SEALS, kRegionSeals) != 0) return core::ErrnoStatus(errno, "seal a region");
  return fd;
}

bool IsSealedRegion(int fd) {
  const int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & kRegionSeals) == kRegionSeals;
}

}  // namespace sysv::linux_backend

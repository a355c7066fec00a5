#include "core/shm/shm_attach.h"

#include <cerrno>

#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"

namespace sysv::core {

absl::StatusOr<uint64_t> ShmAttachAddress(uint64_t addr, int shmflg) {
  if (addr != 0) {
    if (addr & (kShmLba - 1)) {
      if (!(shmflg & kShmRnd)) return ErrnoStatus(EINVAL, "shmaddr is not aligned to SHMLBA");
      addr &= ~(kShmLba - 1);
      if (addr == 0 && (shmflg & kShmRemap)) {
        return ErrnoStatus(EINVAL, "SHM_RND rounds shmaddr to 0 and SHM_REMAP is set");
      }
    }
  } else if (shmflg & kShmRemap) {
    return ErrnoStatus(EINVAL, "SHM_REMAP without a shmaddr");
  }
  return addr;
}

bool ShmDetachAddressValid(uint64_t addr) { return (addr & (kPageSize - 1)) == 0; }

}  // namespace sysv::core

// The argument rules of shmat(2) and shmdt(2) that need no segment: where a
// mapping may go, and how long it is.
#ifndef SYSV_CORE_SHM_SHM_ATTACH_H_
#define SYSV_CORE_SHM_SHM_ATTACH_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace sysv::core {

// do_shmat()'s address checks, made before the id is looked up (so they win
// over EACCES): a non-page-aligned address without SHM_RND, SHM_RND rounding
// to 0 with SHM_REMAP, and SHM_REMAP without an address are EINVAL. Returns
// the address to map at (0: the system chooses).
absl::StatusOr<uint64_t> ShmAttachAddress(uint64_t addr, int shmflg);

// ksys_shmdt(): an address that is not page aligned is EINVAL.
bool ShmDetachAddressValid(uint64_t addr);

}  // namespace sysv::core

#endif  // SYSV_CORE_SHM_SHM_ATTACH_H_

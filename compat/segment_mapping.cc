#include "compat/segment_mapping.h"

#include <sys/mman.h>

#include <cerrno>

#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/shm/shm_attach.h"

namespace sysv::compat {

using core::ErrnoStatus;

absl::StatusOr<void*> MapSegment(const SegmentGrant& grant, uint64_t where, int prot, int shmflg) {
  const uint64_t length = grant.map_length;
  const uint64_t alignment = grant.alignment == 0 ? core::kPageSize : grant.alignment;
  if (where != 0) {
    // A huge page segment maps only at a huge page boundary (do_mmap()).
    if (where % alignment != 0) return ErrnoStatus(EINVAL, "shmaddr is not aligned to the huge page size");
    const int fixed = (shmflg & core::kShmRemap) ? MAP_FIXED : platform::kMapFixedNoReplace;
    void* mapped = mmap(reinterpret_cast<void*>(where), length, prot, MAP_SHARED | fixed, grant.fd.get(), 0);
    if (mapped == MAP_FAILED) {
      // An address range already in use is EINVAL for shmat.
      return ErrnoStatus(errno == platform::kMapAddressInUse ? EINVAL : errno, "cannot map the segment");
    }
    if (reinterpret_cast<uint64_t>(mapped) != where) {
      munmap(mapped, length);
      return ErrnoStatus(EINVAL, "the address range is in use");
    }
    return mapped;
  }
  if (alignment == core::kPageSize) {
    void* mapped = mmap(nullptr, length, prot, MAP_SHARED, grant.fd.get(), 0);
    if (mapped == MAP_FAILED) return ErrnoStatus(errno, "cannot map the segment");
    return mapped;
  }
  // The kernel places a huge page mapping at a huge page boundary: reserve
  // room for one, map there, and give the slack back.
  void* room = mmap(nullptr, length + alignment, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (room == MAP_FAILED) return ErrnoStatus(errno, "cannot reserve address space for the segment");
  const uint64_t base = reinterpret_cast<uint64_t>(room);
  const uint64_t aligned = (base + alignment - 1) / alignment * alignment;
  void* mapped = mmap(reinterpret_cast<void*>(aligned), length, prot, MAP_SHARED | MAP_FIXED, grant.fd.get(), 0);
  if (mapped == MAP_FAILED) {
    const int err = errno;
    munmap(room, length + alignment);
    return ErrnoStatus(err, "cannot map the segment");
  }
  if (aligned > base) munmap(room, aligned - base);
  const uint64_t end = aligned + length;
  if (base + length + alignment > end) munmap(reinterpret_cast<void*>(end), base + length + alignment - end);
  return mapped;
}

}  // namespace sysv::compat

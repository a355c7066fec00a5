// shmat's mapping of a granted segment, placed as the kernel places it.
#ifndef SYSV_COMPAT_SEGMENT_MAPPING_H_
#define SYSV_COMPAT_SEGMENT_MAPPING_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "compat/runtime.h"

namespace sysv::compat {

// Maps a granted segment as shmat does: at `where` (0: anywhere, aligned
// as the kernel would place it), EINVAL for an address in use unless
// SHM_REMAP.
absl::StatusOr<void*> MapSegment(const SegmentGrant& grant, uint64_t where, int prot, int shmflg);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_SEGMENT_MAPPING_H_

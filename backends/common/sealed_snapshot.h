// SealedSnapshot without memfd seals, for systems that have none
// (DragonFly): the role of backends/linux/sealed_snapshot.h, by POSIX
// shared memory. The bytes are written to a new shm object of mode 0400,
// which is then opened again read-only and unlinked, and only the
// read-only descriptor is returned: its holder cannot write, truncate or
// grow the file (not open for writing; DragonFly's /dev/fd/N keeps the
// access mode), and nobody can open the unlinked name. Only the daemon's
// own uid could have opened the name in the instant it existed.
#ifndef SYSV_BACKENDS_COMMON_SEALED_SNAPSHOT_H_
#define SYSV_BACKENDS_COMMON_SEALED_SNAPSHOT_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/common/unique_fd.h"

namespace sysv::backend {

// A read-only descriptor of an unnamed file holding exactly `bytes`.
// `name` is part of the short-lived shm name. Errors: the errno of
// shm_open, write or ftruncate.
absl::StatusOr<UniqueFd> ReadOnlySnapshot(const char* name, absl::Span<const unsigned char> bytes);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_SEALED_SNAPSHOT_H_

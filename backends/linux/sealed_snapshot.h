// Answers too large for a reply message, handed to a client as a file
// nobody can change (semctl GETALL of a big set: core/protocol/wire.h).
#ifndef SYSV_BACKENDS_LINUX_SEALED_SNAPSHOT_H_
#define SYSV_BACKENDS_LINUX_SEALED_SNAPSHOT_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

// A sealed anonymous file holding exactly `bytes` (memfd_create, then
// F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL): how the daemon
// hands a client an answer too large for a reply message (semctl GETALL of a
// big set), as a snapshot the client can read but nobody can change.
// `name` shows in /proc/<pid>/fd. Errors: the errno of memfd_create,
// write or fcntl.
absl::StatusOr<sysv::backend::UniqueFd> SealedSnapshot(const char* name,
                                                       absl::Span<const unsigned char> bytes);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_SEALED_SNAPSHOT_H_

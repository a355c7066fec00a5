// The ipcget_public() half of shmget/semget/msgget, run by a client on the
// mapped object table for a key it has reason to think lives at `index`
// (what the table's key index, core/ipc/key_index.h, found for it).
//
// Why this is exact: keys are unique among objects that are not removed,
// and IPC_RMID makes an object's key private (IpcRegistry::DropKey), so a
// live entry read whole under its seqlock with this key *is* the key's
// object at that moment, and the daemon would decide from the same record
// with the same checks, in the same order: EEXIST for IPC_CREAT|IPC_EXCL,
// the kind's more_checks (shm_more_checks(), sem_more_checks()), then
// ipcperms() with the call's flags (EACCES). Anything else (the hint is
// stale, the entry is being rewritten, IPC_PRIVATE, a key not found) is
// the daemon's to answer, since only it may create.
#ifndef SYSV_CORE_IPC_LOCAL_GET_H_
#define SYSV_CORE_IPC_LOCAL_GET_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "core/ipc/credentials.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/object_table.h"

namespace sysv::core {

// The kind's checks of an existing object (the daemon's GetHooks::more_checks);
// empty for none.
using ExistingObjectChecks = std::function<absl::Status(const ObjectRecord&)>;

// The id of `key`'s object, an exact errno, or nullopt (ask the daemon).
absl::StatusOr<std::optional<int32_t>> LocalGet(const ObjectTable& table, int32_t index, Key key, int flags,
                                                const Credentials& creds, const ExistingObjectChecks& more_checks);

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_LOCAL_GET_H_

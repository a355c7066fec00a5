// The lookup half of the *_STAT commands (IpcRegistry::FindForStat), on an
// object table: run by the daemon on its own table and by a client on the
// mapped one, so that SEM_STAT, MSG_STAT, SHM_STAT and their _ANY forms
// refuse an unused index or a reader without permission exactly as the
// daemon would, without asking it.
//
// Mirrors ipc/util.c: ipc_obtain_object_check() for IPC_STAT (by id),
// ipc_obtain_object_idr() for the by-index commands (EINVAL for an unused
// index, whatever its sequence number), then ipcperms() for read except for
// the _ANY forms (EACCES).
#ifndef SYSV_CORE_IPC_STAT_LOOKUP_H_
#define SYSV_CORE_IPC_STAT_LOOKUP_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "core/ipc/credentials.h"
#include "core/ipc/ipc_registry.h"
#include "core/ipc/object_table.h"

namespace sysv::core {

// The object `id` names for `lookup`, and its id in `*stat_id` (the by-index
// commands return it); EINVAL or EACCES as above; nullopt when the entry
// stayed torn for every read attempt (a client then asks the daemon; the
// daemon, whose table it is, answers EINVAL).
absl::StatusOr<std::optional<ObjectRecord>> FindForStatIn(const ObjectTable& table, int32_t id,
                                                          IpcRegistry::StatLookup lookup, const Credentials& creds,
                                                          int32_t* stat_id);

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_STAT_LOOKUP_H_

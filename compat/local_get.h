// shmget/semget/msgget of an existing key answered from the mapped object
// table: the table's key index (core/ipc/key_index.h) finds the key's entry
// and core/ipc/local_get.h decides, with the daemon's checks in its order,
// whether or not this process ever got the key before. And the lookup of
// the by-index stat commands, from the same table.
#ifndef SYSV_COMPAT_LOCAL_GET_H_
#define SYSV_COMPAT_LOCAL_GET_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "core/ipc/local_get.h"
#include "core/ipc/object_table.h"

namespace sysv::compat {

// The answer of a *get of `key` with `flags` from `table` (nullptr: not
// mapped yet), checked with the caller's cached credentials: an id, an
// exact errno, or nullopt (ask the daemon: no live object has the key, or
// the table could not be read in time).
absl::StatusOr<std::optional<int32_t>> TryLocalGet(const core::ObjectTable* table, int32_t key, int flags,
                                                   const core::ExistingObjectChecks& more_checks);

// The lookup of a by-index stat command `cmd` (the kind's *_STAT,
// `stat_cmd`, or its _ANY form) of `index` from `table`, with the cached
// credentials (core/ipc/stat_lookup.h): the object's id, EINVAL or EACCES
// exactly as the daemon would answer, or nullopt (ask the daemon). The
// caller still needs the object's fields to answer.
absl::StatusOr<std::optional<int32_t>> TryLocalStatLookup(const core::ObjectTable* table, int32_t index, int cmd,
                                                          int stat_cmd);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_LOCAL_GET_H_

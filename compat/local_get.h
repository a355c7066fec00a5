// shmget/semget/msgget of an existing key answered from the mapped object
// table: the table's key index (core/ipc/key_index.h) finds the key's entry
// and core/ipc/local_get.h decides, with the daemon's checks in its order,
// whether or not this process ever got the key before.
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

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_LOCAL_GET_H_

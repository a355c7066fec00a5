// shmget/semget/msgget of a key this process has got before, answered from
// the mapped object table (core/ipc/local_get.h), and the bookkeeping that
// makes it possible: every id the daemon returns for a key is remembered
// (compat/key_hints.h).
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
// exact errno, or nullopt (ask the daemon).
absl::StatusOr<std::optional<int32_t>> TryLocalGet(const core::ObjectTable* table, int32_t key, int flags,
                                                   const core::ExistingObjectChecks& more_checks);

// The daemon answered a *get of `key` in `kind`'s table with `id`.
void NoteGot(core::IpcKind kind, int32_t key, int32_t id);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_LOCAL_GET_H_

#include "compat/local_get.h"

#include "compat/credential_cache.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/key_index.h"
#include "core/ipc/stat_lookup.h"

namespace sysv::compat {

absl::StatusOr<std::optional<int32_t>> TryLocalGet(const core::ObjectTable* table, int32_t key, int flags,
                                                   const core::ExistingObjectChecks& more_checks) {
  if (table == nullptr || key == core::kIpcPrivate) return std::optional<int32_t>();
  const std::optional<int32_t> index = core::FindKey(*table, key);
  if (!index.has_value()) return std::optional<int32_t>();
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return std::optional<int32_t>();
  return core::LocalGet(*table, *index, key, flags, **creds, more_checks);
}

absl::StatusOr<std::optional<int32_t>> TryLocalStatLookup(const core::ObjectTable* table, int32_t index, int cmd,
                                                          int stat_cmd) {
  if (table == nullptr) return std::optional<int32_t>();
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return std::optional<int32_t>();
  int32_t id = -1;
  absl::StatusOr<std::optional<core::ObjectRecord>> record =
      core::FindForStatIn(*table, index, core::IpcRegistry::StatLookupFor(cmd, stat_cmd), **creds, &id);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return std::optional<int32_t>();
  return std::optional<int32_t>(id);
}

}  // namespace sysv::compat

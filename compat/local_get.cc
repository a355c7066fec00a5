#include "compat/local_get.h"

#include "compat/credential_cache.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/key_index.h"

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

}  // namespace sysv::compat

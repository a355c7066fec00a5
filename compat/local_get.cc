#include "compat/local_get.h"

#include "compat/credential_cache.h"
#include "compat/key_hints.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"

namespace sysv::compat {
namespace {

// One per kind, never destroyed (calls may come during exit).
KeyHints& HintsFor(core::IpcKind kind) {
  static KeyHints* const hints = new KeyHints[3];
  return hints[static_cast<uint32_t>(kind) - 1];
}

}  // namespace

absl::StatusOr<std::optional<int32_t>> TryLocalGet(const core::ObjectTable* table, int32_t key, int flags,
                                                   const core::ExistingObjectChecks& more_checks) {
  if (table == nullptr || key == core::kIpcPrivate) return std::optional<int32_t>();
  const std::optional<int32_t> index = HintsFor(table->kind()).IndexOf(key);
  if (!index.has_value()) return std::optional<int32_t>();
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return std::optional<int32_t>();
  return core::LocalGet(*table, *index, key, flags, **creds, more_checks);
}

void NoteGot(core::IpcKind kind, int32_t key, int32_t id) {
  if (key == core::kIpcPrivate || id < 0) return;
  HintsFor(kind).Remember(key, core::IpcIdIndex(id));
}

}  // namespace sysv::compat

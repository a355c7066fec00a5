#include "core/ipc/stat_lookup.h"

#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/ipc_perm.h"

namespace sysv::core {

absl::StatusOr<std::optional<ObjectRecord>> FindForStatIn(const ObjectTable& table, int32_t id,
                                                          IpcRegistry::StatLookup lookup, const Credentials& creds,
                                                          int32_t* stat_id) {
  const int32_t index = IpcIdIndex(id);
  if (index < 0 || static_cast<uint32_t>(index) >= table.capacity()) {
    return ErrnoStatus(EINVAL, absl::StrFormat("no object at index %d", index));
  }
  absl::StatusOr<ObjectRecord> record = table.Read(index);
  if (!record.ok()) return std::nullopt;
  if (record->state == EntryState::kFree) return ErrnoStatus(EINVAL, absl::StrFormat("no object at index %d", index));
  // ipc_checkid()
  if (lookup == IpcRegistry::StatLookup::kById && IpcIdSeq(id) != record->perm.seq) {
    return ErrnoStatus(EINVAL, absl::StrFormat("no object has id %d", id));
  }
  if (lookup != IpcRegistry::StatLookup::kById) *stat_id = MakeIpcId(record->perm.seq, index);
  if (lookup != IpcRegistry::StatLookup::kByIndexAny && !HasIpcPermission(record->perm, creds, kAccessRead)) {
    return ErrnoStatus(EACCES, "no read permission on the object");
  }
  return std::optional<ObjectRecord>(*std::move(record));
}

}  // namespace sysv::core

#include "core/ipc/local_get.h"

#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/ipc_perm.h"

namespace sysv::core {

absl::StatusOr<std::optional<int32_t>> LocalGet(const ObjectTable& table, int32_t index, Key key, int flags,
                                                const Credentials& creds, const ExistingObjectChecks& more_checks) {
  // ipcget(): IPC_PRIVATE always makes a new object.
  if (key == kIpcPrivate || index < 0 || static_cast<uint32_t>(index) >= table.capacity()) return std::nullopt;
  absl::StatusOr<ObjectRecord> record = table.Read(index);
  if (!record.ok() || record->state != EntryState::kLive || record->perm.key != key) return std::nullopt;
  // ipcget_public(), in its order (IpcRegistry::Get).
  if ((flags & kIpcCreat) && (flags & kIpcExcl)) {
    return ErrnoStatus(EEXIST, absl::StrFormat("key %#x exists (IPC_CREAT|IPC_EXCL)", key));
  }
  if (more_checks) {
    if (absl::Status status = more_checks(*record); !status.ok()) return status;
  }
  if (!HasIpcPermission(record->perm, creds, flags)) {
    return ErrnoStatus(EACCES, absl::StrFormat("permission denied on key %#x", key));
  }
  return MakeIpcId(record->perm.seq, index);
}

}  // namespace sysv::core

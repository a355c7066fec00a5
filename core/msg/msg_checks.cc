#include "core/msg/msg_checks.h"

#include <cerrno>

#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_perm.h"
#include "core/msg/msg_queue.h"

namespace sysv::core {

absl::Status CheckMsgsndArgs(int32_t id, uint64_t msgsz, int64_t mtype, uint64_t msgmax) {
  if (msgsz > msgmax || static_cast<int64_t>(msgsz) < 0 || id < 0) {
    return ErrnoStatus(EINVAL, "message size above MSGMAX, or a negative id");
  }
  if (mtype < 1) return ErrnoStatus(EINVAL, "mtype must be at least 1");
  return absl::OkStatus();
}

absl::Status CheckMsgrcvArgs(int32_t id, uint64_t bufsz, int msgflg) {
  if (id < 0 || static_cast<int64_t>(bufsz) < 0) return ErrnoStatus(EINVAL, "negative id or size");
  if ((msgflg & kMsgCopy) && ((msgflg & kMsgExcept) || !(msgflg & kIpcNowait))) {
    return ErrnoStatus(EINVAL, "MSG_COPY needs IPC_NOWAIT and excludes MSG_EXCEPT");
  }
  return absl::OkStatus();
}

absl::StatusOr<ObjectRecord> FindMsgQueue(const ObjectTable& table, int32_t id) {
  return table.ReadLive(id, "message queue");
}

absl::StatusOr<ObjectRecord> CheckMsgAccess(const ObjectTable& table, int32_t id, int access,
                                            const Credentials& creds) {
  absl::StatusOr<ObjectRecord> record = FindMsgQueue(table, id);
  if (!record.ok()) return record.status();
  if (!HasIpcPermission(record->perm, creds, access)) return ErrnoStatus(EACCES, "no permission on the queue");
  return record;
}

int RecheckMsgAccess(const ObjectTable& table, int32_t id, int access, const Credentials& creds) {
  absl::StatusOr<ObjectRecord> record = FindMsgQueue(table, id);
  if (!record.ok()) return EIDRM;
  if (!HasIpcPermission(record->perm, creds, access)) return EACCES;
  return 0;
}

}  // namespace sysv::core

// The checks a message queue call makes before it touches the queue, in the
// kernel's order. Clients run them on the mapped object table (no daemon
// round trip).
#ifndef SYSV_CORE_MSG_MSG_CHECKS_H_
#define SYSV_CORE_MSG_MSG_CHECKS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/ipc/credentials.h"
#include "core/ipc/object_table.h"

namespace sysv::core {

// do_msgsnd()'s checks on the arguments alone: EINVAL for a size above
// MSGMAX (or negative as a long), a negative id, or an mtype below 1.
absl::Status CheckMsgsndArgs(int32_t id, uint64_t msgsz, int64_t mtype, uint64_t msgmax);

// do_msgrcv()'s checks on the arguments alone: EINVAL for a negative id or
// size, and for MSG_COPY with MSG_EXCEPT or without IPC_NOWAIT.
absl::Status CheckMsgrcvArgs(int32_t id, uint64_t bufsz, int msgflg);

// The live queue `id` (EINVAL when the id names none).
absl::StatusOr<ObjectRecord> FindMsgQueue(const ObjectTable& table, int32_t id);

// The lookup, then ipcperms(): EINVAL, then EACCES (`access`: kAccessWrite
// to send, kAccessRead to receive).
absl::StatusOr<ObjectRecord> CheckMsgAccess(const ObjectTable& table, int32_t id, int access,
                                            const Credentials& creds);

// After a sleeper is woken, the kernel's loops check permission again, then
// whether the queue was removed meanwhile: EIDRM (not EINVAL: it existed
// when the call began), then EACCES. 0 when the call may go on.
int RecheckMsgAccess(const ObjectTable& table, int32_t id, int access, const Credentials& creds);

}  // namespace sysv::core

#endif  // SYSV_CORE_MSG_MSG_CHECKS_H_

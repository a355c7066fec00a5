// The ipc_perm of an object and the permission rules every IPC kind shares.
#ifndef SYSV_CORE_IPC_IPC_PERM_H_
#define SYSV_CORE_IPC_IPC_PERM_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/ipc/credentials.h"
#include "core/ipc/ipc_constants.h"

namespace sysv::core {

struct IpcPerm {
  Key key = kIpcPrivate;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t cuid = 0;
  uint32_t cgid = 0;
  uint32_t mode = 0;  // permission bits plus per-kind flags (SHM_DEST ...)
  uint32_t seq = 0;
};

// Mirrors ipc/util.c:ipcperms(). `flag` is what the kernel passes: S_IRUGO,
// S_IWUGO, or a *get call's flags (whose permission bits then request access).
// Returns true when access is granted. The owner class applies when the
// caller's euid is the owner's or the creator's; the group class when the
// owner's or creator's group is among the caller's groups; CAP_IPC_OWNER
// overrides a refusal.
bool HasIpcPermission(const IpcPerm& perm, const Credentials& creds, int flag);

// Mirrors the ownership test of ipc/util.c:ipcctl_obtain_check(), used by
// IPC_SET and IPC_RMID: the caller is the owner or the creator, or has
// CAP_SYS_ADMIN. A refusal is EPERM.
bool IsOwnerOrCreator(const IpcPerm& perm, const Credentials& creds);

// IPC_SET's ipc_update_perm() check, before anything changes: the new
// owner uid and gid must map in the caller's user namespace (EINVAL).
absl::Status CheckIpcSetIds(const Credentials& creds, uint32_t uid, uint32_t gid);

// Applies IPC_SET's ipc_update_perm(): new owner uid/gid and the permission
// bits of `mode`, keeping the other mode bits.
void UpdateIpcPerm(IpcPerm& perm, uint32_t uid, uint32_t gid, uint32_t mode);

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_IPC_PERM_H_

#include "core/ipc/ipc_perm.h"

#include <cerrno>

#include "core/ipc/errno_status.h"

namespace sysv::core {

bool HasIpcPermission(const IpcPerm& perm, const Credentials& creds, int flag) {
  const int requested = (flag >> 6) | (flag >> 3) | flag;
  uint32_t granted = perm.mode;
  if (creds.uid == perm.cuid || creds.uid == perm.uid) {
    granted >>= 6;
  } else if (creds.InGroup(perm.cgid) || creds.InGroup(perm.gid)) {
    granted >>= 3;
  }
  // "is there some bit set in requested_mode but not in granted_mode?"
  if ((requested & ~granted & 0007) != 0 && !creds.cap_ipc_owner) return false;
  return true;
}

bool IsOwnerOrCreator(const IpcPerm& perm, const Credentials& creds) {
  return creds.uid == perm.cuid || creds.uid == perm.uid || creds.cap_sys_admin;
}

absl::Status CheckIpcSetIds(const Credentials& creds, uint32_t uid, uint32_t gid) {
  if (!creds.MapsUid(uid) || !creds.MapsGid(gid)) {
    return ErrnoStatus(EINVAL, "IPC_SET with a uid or gid invalid in the caller's user namespace");
  }
  return absl::OkStatus();
}

void UpdateIpcPerm(IpcPerm& perm, uint32_t uid, uint32_t gid, uint32_t mode) {
  perm.uid = uid;
  perm.gid = gid;
  perm.mode = (perm.mode & ~static_cast<uint32_t>(kPermissionBits)) |
              (mode & kPermissionBits);
}

}  // namespace sysv::core

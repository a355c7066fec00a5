// The C library's IPC structures, filled from what the daemon or the mapped
// table says: one place for the struct ipc_perm every *ctl reply carries.
#ifndef SYSV_COMPAT_IPC_ABI_H_
#define SYSV_COMPAT_IPC_ABI_H_

#include <sys/ipc.h>

#include "core/protocol/wire.h"

namespace sysv::compat {

inline void FillIpcPerm(const core::wire::WirePerm& perm, struct ipc_perm* out) {
  out->__key = perm.key;
  out->uid = perm.uid;
  out->gid = perm.gid;
  out->cuid = perm.cuid;
  out->cgid = perm.cgid;
  out->mode = static_cast<unsigned short>(perm.mode);
  out->__seq = static_cast<unsigned short>(perm.seq);
}

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_IPC_ABI_H_

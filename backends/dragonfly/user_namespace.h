// The user namespace a process lives in, on DragonFly: there are none.
// Every process sees the one id space (jails share it), so a caller's id
// maps are empty, which Credentials reads as "the initial namespace, every
// id but (uid_t)-1 valid" (core/ipc/credentials.h). The counterpart of
// backends/linux/user_namespace.h, with the same signature.
#ifndef SYSV_BACKENDS_DRAGONFLY_USER_NAMESPACE_H_
#define SYSV_BACKENDS_DRAGONFLY_USER_NAMESPACE_H_

#include <sys/types.h>

#include "absl/status/status.h"
#include "core/ipc/credentials.h"

namespace sysv::dragonfly_backend {

// Clears creds.uid_map and creds.gid_map. Always OK.
inline absl::Status ReadIdMaps(pid_t /*pid*/, sysv::core::Credentials& creds) {
  creds.uid_map.clear();
  creds.gid_map.clear();
  return absl::OkStatus();
}

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_USER_NAMESPACE_H_

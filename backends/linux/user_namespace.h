// The user namespace a process lives in, as the ranges of ids valid there.
#ifndef SYSV_BACKENDS_LINUX_USER_NAMESPACE_H_
#define SYSV_BACKENDS_LINUX_USER_NAMESPACE_H_

#include <sys/types.h>

#include "absl/status/status.h"
#include "core/ipc/credentials.h"

namespace sysv::linux_backend {

// Fills creds.uid_map and creds.gid_map from /proc/<pid>/{uid,gid}_map. A
// process in the initial namespace ("0 0 4294967295") gets empty maps.
absl::Status ReadIdMaps(pid_t pid, core::Credentials& creds);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_USER_NAMESPACE_H_

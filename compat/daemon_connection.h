// Connecting to the daemon of a namespace, and to nobody else.
#ifndef SYSV_COMPAT_DAEMON_CONNECTION_H_
#define SYSV_COMPAT_DAEMON_CONNECTION_H_

#include "absl/status/statusor.h"
#include "backends/common/namespace_dir.h"
#include "backends/common/unique_fd.h"

namespace sysv::compat {

// Verifies the namespace directory (backends/common/namespace_dir.h),
// connects to its socket, and checks, before anything is sent, who answers:
// the process on the other end (SO_PEERCRED, fixed when it called listen())
// must run as the directory's owner or as root. Anyone else got there by a
// hole in the directory's protection (a sticky directory lets any user bind
// the name while no daemon does), and a request sent to them would hand over
// the caller's data or take orders from them. Results:
//   the connected socket;
//   ENOENT        no directory or no socket: no daemon;
//   ECONNREFUSED  nobody listens on the socket: no daemon;
//   EPERM         refused: the directory or the process answering is not to
//                 be trusted (the message says which and why);
//   EACCES, EAGAIN (the daemon's backlog is full), ... from open/connect.
absl::StatusOr<backend::UniqueFd> ConnectToDaemon(const backend::NamespaceDir& dir);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_DAEMON_CONNECTION_H_

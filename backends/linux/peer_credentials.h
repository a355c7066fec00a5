// Who is on the other end of a Unix socket, as the kernel says (DESIGN.md,
// decision 1: credentials never come from a message body).
#ifndef SYSV_BACKENDS_LINUX_PEER_CREDENTIALS_H_
#define SYSV_BACKENDS_LINUX_PEER_CREDENTIALS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/ipc/credentials.h"

namespace sysv::linux_backend {

// The credentials of the process at the other end of the connected Unix
// socket `fd`: pid, effective uid and gid from SO_PEERCRED, supplementary
// groups from SO_PEERGROUPS (Linux 4.13), as Credentials::ForIds() builds
// them.
//
// The kernel records them when the connection is made (connect(2) for the
// client end, listen(2) for the server end), not per message: a client that
// changes its euid or groups afterwards keeps being seen as it was, so the
// client runtime reconnects after such a change. The pid is the thread group
// id of the connecting process, in the reader's pid namespace (0 if it has
// none there). Results:
//   the credentials;
//   ENODATA      fd is a Unix socket that was never connected (the kernel
//                has no peer credentials to give); ENOTSOCK, EBADF;
//   ENOPROTOOPT  the kernel lacks SO_PEERGROUPS (older than 4.13); no guess
//                is made, since a missing group could deny or grant access
//                the kernel would not.
absl::StatusOr<sysv::core::Credentials> PeerCredentials(int fd);

// The calling process's own credentials in the same form (getpid, geteuid,
// getegid, getgroups), for the client side and for tests. Results: the
// credentials; or the errno of getgroups (which only fails if the group list
// keeps changing under it).
absl::StatusOr<sysv::core::Credentials> CurrentCredentials();
// The same, with `pid` as the pid, for a caller that knows its own (libsysv's
// runtime tracks it across fork): one system call fewer. Also reads the
// effective capabilities (capget) and narrows root's to them.
absl::StatusOr<sysv::core::Credentials> CurrentCredentials(int32_t pid);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_PEER_CREDENTIALS_H_

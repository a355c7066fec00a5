#include "compat/daemon_connection.h"

#include <cerrno>

#include "absl/strings/str_format.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"

namespace sysv::compat {

absl::StatusOr<backend::UniqueFd> ConnectToDaemon(const backend::NamespaceDir& dir) {
  absl::StatusOr<backend::VerifiedDir> verified = backend::OpenNamespaceDir(dir);
  if (!verified.ok()) return verified.status();
  // By name: connect() has no *at() form. The directory cannot be changed
  // under us by anyone but its owner or root (or, sticky, have our socket
  // replaced), and whoever answers is checked below in any case.
  const std::string socket = backend::SocketPath(dir.path);
  absl::StatusOr<backend::UniqueFd> fd = platform::ConnectSeqpacket(socket);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<core::Credentials> peer = platform::PeerCredentials(fd->get());
  if (!peer.ok()) return peer.status();
  if (peer->uid != verified->owner && peer->uid != 0) {
    return core::ErrnoStatus(
        EPERM, absl::StrFormat("refusing the sysvipcd at %s: the process answering (pid %d) runs as uid %u; the "
                               "daemon of a namespace runs as its directory's owner (uid %u) or root",
                               socket, peer->pid, peer->uid, verified->owner));
  }
  // Where the daemon cannot learn our pid from the socket itself, it waits
  // for this (backends/<os>/platform.h).
  if (absl::Status status = platform::IntroduceSelf(fd->get()); !status.ok()) return status;
  return fd;
}

}  // namespace sysv::compat

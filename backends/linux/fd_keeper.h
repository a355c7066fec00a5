// The fd keeper: a tiny process that holds descriptors for the daemon, by
// name, and hands them back to a restarted daemon (as systemd's fd store
// does for its services). Sealed regions (sealed_region.h) have no name in
// any directory: without a holder they would vanish with a killed daemon,
// where region files stay on disk for the next one to find.
//
// Notes:
//   - The keeper listens on a Unix SOCK_SEQPACKET socket in the namespace
//     directory (only the daemon's user can reach it: the directory is the
//     daemon's and not writable by others, the socket is 0600) and talks to
//     one peer at a time, the latest to connect, whose uid must be its own
//     (SO_PEERCRED, checked on both sides).
//   - It is the daemon's binary, re-executed (/proc/self/exe) in its own
//     session, so it keeps none of the daemon's descriptors or mappings and
//     survives the daemon's death (kill -9 included).
//   - It exits when the daemon leaves and it holds nothing, or when no
//     daemon has come back for kLinger: then, as with a killed daemon and
//     keeper together, the objects it held are gone.
//   - Each request is answered (the errno, 0 for done), so a descriptor the
//     keeper could not take (its RLIMIT_NOFILE, which it raises to the hard
//     limit) is the daemon's error, not a silent loss.
#ifndef SYSV_BACKENDS_LINUX_FD_KEEPER_H_
#define SYSV_BACKENDS_LINUX_FD_KEEPER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

class FdKeeper {
 public:
  // How long a keeper waits for a daemon that left while it held something.
  static constexpr absl::Duration kLinger = absl::Minutes(10);
  // The command-line flag that makes the daemon's binary a keeper, its
  // listening socket as descriptor 3.
  static constexpr char kFlag[] = "--fd_keeper";
  static constexpr int kListenFd = 3;
  // Names are at most this long.
  static constexpr size_t kMaxName = 200;

  // The keeper listening at `socket_path`, or a new one started there (a
  // stale socket file is replaced). Results: the connection; the errno of
  // socket, bind, fork or connect; EPERM when the peer is another user.
  static absl::StatusOr<FdKeeper> ConnectOrStart(const std::string& socket_path);

  // Gives the keeper `fd` to hold under `name` (replacing any it held under
  // that name). Results: OK; EPIPE/ECONNRESET (the keeper is gone); the
  // keeper's errno (EMFILE: it cannot hold more).
  absl::Status Put(absl::string_view name, int fd);
  // The keeper closes what it holds under `name` (OK if nothing).
  absl::Status Drop(absl::string_view name);
  // Everything the keeper holds, as new descriptors (it keeps its own).
  absl::StatusOr<std::vector<std::pair<std::string, backend::UniqueFd>>> List();

  // Readable (or hung up) when the keeper went away: the daemon watches it
  // to start a new one and hand it what it holds.
  int fd() const { return fd_.get(); }

 private:
  explicit FdKeeper(backend::UniqueFd fd) : fd_(std::move(fd)) {}
  absl::Status Request(char op, absl::string_view name, int fd);

  backend::UniqueFd fd_;
};

// Whether the peer of connected socket `fd` has closed it (end of stream or
// an error), without blocking or consuming anything.
bool PeerGone(int fd);

// The keeper's main: serves the listening socket `listen_fd` until it exits
// (notes above). Returns the exit status.
int RunFdKeeper(int listen_fd);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_FD_KEEPER_H_

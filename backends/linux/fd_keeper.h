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
//     limit) is reported to the daemon (TakeRefused), not a silent loss.
//   - Put and Drop do not wait for their answer (a create used to cost a
//     second process hop): the daemon reads answers as they come
//     (ReadAnswers, from its event loop) and waits only when kMaxUnanswered
//     are out. A Put is nonetheless kept from the moment it returns: the
//     request and its descriptor are then in the keeper's socket, where the
//     kernel holds the file even if the daemon is killed at once, and the
//     keeper serves every request queued by a connection before it takes
//     the next daemon's (RunFdKeeper).
//   - The keeper is not woken per request (issue #14: each wake-up of a
//     sleeping process costs ~10 us of CPU on each side, and every Put and
//     Drop woke the keeper, every answer the daemon). At connect the daemon
//     offers a doorbell (an eventfd, request kBell); a keeper that takes it
//     polls the connection for hang-up only (events 0: poll wakes a waiter
//     for the events it asked for, plus POLLHUP and POLLERR) and the
//     doorbell for POLLIN. Requests wait in its socket, held by the kernel,
//     until the doorbell rings, the daemon hangs up or kDrainEvery passes;
//     then it serves every queued request. The daemon rings once per
//     kMaxUnanswered / 2 requests sent and before any wait for an answer
//     (List, a full window). So a refusal reaches TakeRefused up to
//     kMaxUnanswered / 2 requests or kDrainEvery after its Put.
//   - Versions mix both ways: a keeper of before the doorbell refuses the
//     offer (EINVAL, as any unknown request) and is woken per request as
//     before; a daemon of before it never offers one, and is served so.
#ifndef SYSV_BACKENDS_LINUX_FD_KEEPER_H_
#define SYSV_BACKENDS_LINUX_FD_KEEPER_H_

#include <cstddef>
#include <deque>
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
  // `offer_doorbell` false connects as a daemon of before the doorbell
  // (tests of mixed versions).
  static absl::StatusOr<FdKeeper> ConnectOrStart(const std::string& socket_path, bool offer_doorbell = true);

  // How often a keeper with a doorbell serves its queue unasked (notes).
  static constexpr absl::Duration kDrainEvery = absl::Seconds(5);

  // Requests sent and not yet answered, at most (Put and Drop wait for
  // answers beyond it). Far below what the two sockets' buffers hold, so
  // neither side ever blocks sending while the other does.
  static constexpr size_t kMaxUnanswered = 64;

  // Gives the keeper `fd` to hold under `name` (replacing any it held under
  // that name), without waiting for its answer (notes above). Results: OK
  // (sent: the keeper gets it even if the daemon dies now); EPIPE/
  // ECONNRESET (the keeper is gone); ETOOMANYREFS (too many descriptors in
  // flight); the errno of a read answer. A refusal (EMFILE: the keeper
  // cannot hold more) comes later, through TakeRefused.
  absl::Status Put(absl::string_view name, int fd);
  // The keeper closes what it holds under `name` (OK if nothing); no wait,
  // as for Put.
  absl::Status Drop(absl::string_view name);
  // Everything the keeper holds, as new descriptors (it keeps its own),
  // once every request before is answered.
  absl::StatusOr<std::vector<std::pair<std::string, backend::UniqueFd>>> List();
  // Reads answers that have come, without blocking while at most
  // `unanswered` requests are still out. Results: OK; the errno of recv
  // (ECONNRESET: the keeper is gone).
  absl::Status ReadAnswers(size_t unanswered);
  // Makes the keeper serve every request sent so far now, not when half a
  // window is out or kDrainEvery has passed (nothing to do for a keeper
  // without a doorbell: it serves each request as it comes).
  void Ring();
  // The names whose Put the keeper answered with an error, and the errno,
  // since the last call.
  std::vector<std::pair<std::string, int>> TakeRefused() { return std::exchange(refused_, {}); }

  // Readable (or hung up) when the keeper went away: the daemon watches it
  // to start a new one and hand it what it holds.
  int fd() const { return fd_.get(); }
  // Whether the keeper took the doorbell (notes above).
  bool has_doorbell() const { return static_cast<bool>(doorbell_); }

 private:
  explicit FdKeeper(backend::UniqueFd fd) : fd_(std::move(fd)) {}
  // Offers the keeper a doorbell and waits for its answer (an older keeper
  // refuses: none then). Results: OK either way; the errno of eventfd,
  // send or recv.
  absl::Status OfferDoorbell();
  absl::Status Send(char op, absl::string_view name, int fd);

  backend::UniqueFd fd_;
  // The doorbell the keeper took, or none; the one offered until answered.
  backend::UniqueFd doorbell_;
  backend::UniqueFd offered_doorbell_;
  // Requests sent since the doorbell last rang.
  size_t unrung_ = 0;
  // The requests sent and not answered, oldest first: their operation and
  // name (the keeper answers in order).
  std::deque<std::pair<char, std::string>> unanswered_;
  std::vector<std::pair<std::string, int>> refused_;
};

// Whether the peer of connected socket `fd` has closed it (end of stream or
// an error), without blocking or consuming anything.
bool PeerGone(int fd);

// The keeper's main: serves the listening socket `listen_fd` until it exits
// (notes above). A daemon that connects is served only once every request
// the previous one left queued is (its Puts are objects it already
// created). Returns the exit status.
// `take_doorbells` false serves as a keeper of before the doorbell (tests
// of mixed versions).
int RunFdKeeper(int listen_fd, bool take_doorbells = true);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_FD_KEEPER_H_

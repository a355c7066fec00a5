// The client <-> daemon channel: Unix-domain SOCK_SEQPACKET sockets.
//
// SOCK_SEQPACKET keeps message boundaries (one request, one reply, as the
// wire protocol wants), is connection-oriented (the daemon learns of a
// client's death by EOF as well as by pidfd), and carries SCM_RIGHTS (region
// descriptors travel from daemon to client) and SO_PEERCRED (see
// peer_credentials.h).
//
// Every function reads errno right after its system call and reports it as
// a sysv::core::ErrnoStatus, whose errno ErrnoOf() recovers exactly.
#ifndef SYSV_BACKENDS_LINUX_CHANNEL_H_
#define SYSV_BACKENDS_LINUX_CHANNEL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "backends/common/poll_window.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

// At most this many descriptors travel in one message (the kernel's
// SCM_MAX_FD is 253).
inline constexpr int kMaxFdsPerMessage = 253;

// Creates a listening SOCK_SEQPACKET socket bound at `path` whose socket file
// has exactly `mode` (for example 0666 for a shared namespace, 0600 for a
// private one). The socket is close-on-exec and non-blocking (for the event
// loop).
//
// A socket file left behind by a daemon that died is replaced: if the bind
// finds `path` taken, the function connects to it, and unlinks it and binds
// again only if that connect fails with ECONNREFUSED (nobody listens) and the
// file is a socket. Results:
//   the listening socket;
//   EADDRINUSE    another process is listening at `path` (or the file there
//                 is not a socket);
//   ENAMETOOLONG  `path`'s last component does not fit in sockaddr_un.sun_path
//                 (a longer directory is reached through /proc/self/fd);
//   otherwise the errno of socket/bind/chmod/listen (EACCES, ENOENT for a
//   missing directory, ...).
absl::StatusOr<sysv::backend::UniqueFd> ListenSeqpacket(absl::string_view path,
                                                        mode_t mode);

// Accepts one pending connection as a close-on-exec, non-blocking socket.
// Retries EINTR. Results: the socket; EAGAIN when none is pending;
// ECONNABORTED (the client gave up; call again); EMFILE/ENFILE/ENOMEM.
absl::StatusOr<sysv::backend::UniqueFd> AcceptClient(int listen_fd);

// Connects a blocking, close-on-exec SOCK_SEQPACKET socket to `path`.
// Retries EINTR. Results: the socket; ENOENT (no socket file) or
// ECONNREFUSED (nobody listening): no daemon; EACCES; EAGAIN (the daemon's
// backlog is full); ENAMETOOLONG.
absl::StatusOr<sysv::backend::UniqueFd> ConnectSeqpacket(absl::string_view path);

// Sends `bytes` as one message with `fds` attached (SCM_RIGHTS; the caller
// keeps its own copies). MSG_NOSIGNAL: a dead peer is EPIPE, not SIGPIPE.
// Retries EINTR. Results:
//   OK;
//   EINVAL    `bytes` is empty (a zero-length SEQPACKET message would read as
//             EOF) or more than kMaxFdsPerMessage fds;
//   EAGAIN    a non-blocking socket's buffer is full;
//   EPIPE, ECONNRESET  the peer is gone;
//   EMSGSIZE  the message is larger than the socket's send buffer allows;
//   EBADF     an fd in `fds` is not open.
absl::Status SendMessage(int fd, absl::Span<const uint8_t> bytes,
                         absl::Span<const int> fds);

// What ReceiveMessage() got.
struct ReceivedMessage {
  size_t size = 0;  // bytes written to the buffer; 0 means orderly EOF
  std::vector<sysv::backend::UniqueFd> fds;  // received, close-on-exec
};

// Receives one message into `buffer`, accepting up to `max_fds` descriptors
// (installed close-on-exec via MSG_CMSG_CLOEXEC, so a concurrent exec in
// the client never leaks them). Retries EINTR. Results:
//   a message, size > 0, with its fds;
//   size 0 and no fds: the peer closed the connection (orderly EOF);
//   EMSGSIZE  the message did not fit in `buffer` (MSG_TRUNC) or carried
//             more than `max_fds` descriptors (MSG_CTRUNC); the rest of it is
//             lost, and any descriptors that did arrive are closed;
//   EAGAIN    a non-blocking socket has no message;
//   ECONNRESET and other errno of recvmsg.
absl::StatusOr<ReceivedMessage> ReceiveMessage(int fd,
                                               absl::Span<uint8_t> buffer,
                                               int max_fds);

// ReceiveMessage() for a reply expected soon, awaited awake: for up to
// `awake_for` the socket is polled without blocking, with sched_yield()
// between polls (the thread stays runnable, state R in /proc, and gives its
// CPU to the peer if it waits for one); then it is read, blocking if
// nothing came. A client inside a System V call waits for the daemon this
// way, so that nobody watching /proc takes it for a sleep on the object
// (which the kernel's call would be) before it really waits there. Results
// as ReceiveMessage().
absl::StatusOr<ReceivedMessage> ReceiveMessageAwake(int fd, absl::Span<uint8_t> buffer, int max_fds,
                                                    absl::Duration awake_for);

// ReceiveMessage() for a reply expected within microseconds: the socket is
// polled for it (poll() with a zero timeout) through `window`
// (backends/common/poll_window.h: shorter after replies that did not come
// within it), then read, blocking if nothing came. A wake-up from a sleep
// in recvmsg costs more than most of the daemon's answers take.
// Results as ReceiveMessage().
absl::StatusOr<ReceivedMessage> ReceiveMessagePolled(int fd, absl::Span<uint8_t> buffer, int max_fds,
                                                     sysv::backend::PollWindow& window);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_CHANNEL_H_

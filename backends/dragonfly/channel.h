// The client <-> daemon channel on DragonFly: Unix-domain SOCK_SEQPACKET
// sockets, as on Linux (backends/linux/channel.h), with DragonFly's ways of
// carrying credentials. DragonFly only: it is mostly system calls; the
// control-message rules it relies on are portable and tested
// (control_message.h).
//
// SOCK_SEQPACKET keeps message boundaries (one request, one reply), is
// connection-oriented (the daemon learns of a client's death by EOF as well
// as by EVFILT_PROC), carries SCM_RIGHTS (region descriptors, daemon to
// client) and SCM_CREDS (the sender's pid and ids, client to daemon, filled
// in by the kernel; see peer_credentials.h for why both LOCAL_PEERCRED and
// SCM_CREDS are needed).
//
// Differences from the Linux channel, all from the OS:
//   - A path must fit in sockaddr_un.sun_path (104 bytes with its NUL):
//     DragonFly has no /proc/self/fd to reach a longer one through its
//     directory, so a longer path is ENAMETOOLONG.
//   - The socket file's mode is set by chmod() after bind(); DragonFly
//     creates it with 0777 & ~umask (sys/kern/uipc_usrreq.c:unp_bind()) and
//     fchmod() of a socket fails (EINVAL, kern_descrip.c:holdvnode()), so
//     for a moment the file may be more open than `mode`. The namespace
//     directory's own mode is what protects a private namespace then.
//   - A control message can carry descriptors or credentials, not both
//     (the kernel handles only the first; control_message.h).
//
// Every function reads errno right after its system call and reports it as
// a sysv::core::ErrnoStatus.
#ifndef SYSV_BACKENDS_DRAGONFLY_CHANNEL_H_
#define SYSV_BACKENDS_DRAGONFLY_CHANNEL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "backends/common/poll_window.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/control_message.h"
#include "backends/dragonfly/peer_credentials.h"
#include "core/ipc/credentials.h"

namespace sysv::dragonfly_backend {

// Creates a listening SOCK_SEQPACKET socket bound at `path` whose socket
// file ends with exactly `mode` (see the file comment for the moment
// before). Close-on-exec and non-blocking (for the event loop). A socket
// file left behind by a daemon that died is replaced: if bind() finds `path`
// taken, the function connects to it, and unlinks it and binds again only if
// that connect fails with ECONNREFUSED and the file is a socket. Results:
//   the listening socket;
//   EADDRINUSE    another process listens at `path` (or the file there is
//                 not a socket);
//   ENAMETOOLONG  `path` does not fit in sun_path;
//   EINVAL        `path` is empty or contains NUL;
//   otherwise the errno of socket/bind/chmod/listen.
absl::StatusOr<sysv::backend::UniqueFd> ListenSeqpacket(absl::string_view path,
                                                        mode_t mode);

// Accepts one pending connection as a close-on-exec, non-blocking socket
// (accept4(2)). Retries EINTR. Results: the socket; EAGAIN when none is
// pending; ECONNABORTED; EMFILE/ENFILE/ENOMEM.
absl::StatusOr<sysv::backend::UniqueFd> AcceptClient(int listen_fd);

// Connects a blocking, close-on-exec SOCK_SEQPACKET socket to `path`.
// Retries EINTR. Results: the socket; ENOENT or ECONNREFUSED (no daemon);
// EACCES; EAGAIN (backlog full); ENAMETOOLONG; EINVAL.
absl::StatusOr<sysv::backend::UniqueFd> ConnectSeqpacket(absl::string_view path);

// Sends `bytes` as one message with `fds` attached (SCM_RIGHTS; the caller
// keeps its own copies). MSG_NOSIGNAL: a dead peer is EPIPE, not SIGPIPE.
// Retries EINTR. Results:
//   OK;
//   EINVAL    `bytes` is empty (it would read as EOF) or more than
//             kMaxFdsPerMessage fds;
//   EAGAIN    a non-blocking socket's buffer is full;
//   EPIPE, ECONNRESET  the peer is gone;
//   EMSGSIZE  larger than the socket's send buffer;
//   EBADF     an fd in `fds` is not open; EOPNOTSUPP: one is a kqueue,
//             which DragonFly does not pass.
absl::Status SendMessage(int fd, absl::Span<const uint8_t> bytes,
                         absl::Span<const int> fds);

// Sends `bytes` as one message with an SCM_CREDS control message, which the
// kernel fills with this process's pid, uids and groups on the way: the
// receiver's ReceivedMessage::sender. What the client runtime sends its
// register request with. Results: as SendMessage (EINVAL only for empty
// `bytes`).
absl::Status SendMessageWithCredentials(int fd, absl::Span<const uint8_t> bytes);

// What ReceiveMessage() got.
struct ReceivedMessage {
  size_t size = 0;  // bytes written to the buffer; 0 means orderly EOF
  std::vector<sysv::backend::UniqueFd> fds;  // received, close-on-exec
  // The sender's credentials, if it sent them (SendMessageWithCredentials()).
  std::optional<SenderCredentials> sender;
};

// Receives one message into `buffer`, accepting up to `max_fds` descriptors
// (installed close-on-exec with MSG_CMSG_CLOEXEC) or the sender's
// credentials. Retries EINTR. Results:
//   a message, size > 0, with its fds or credentials;
//   size 0, nothing else: the peer closed the connection (orderly EOF);
//   EMSGSIZE  the message did not fit in `buffer` (MSG_TRUNC), its control
//             data was cut (MSG_CTRUNC), or it carried more than `max_fds`
//             descriptors; descriptors that did arrive are closed;
//   EPERM, EPROTO  its control data is not what the kernel makes
//             (ParseControl(), control_message.h); descriptors are closed;
//   EINVAL    empty buffer or max_fds outside 0..kMaxFdsPerMessage;
//   EAGAIN    a non-blocking socket has no message;
//   ECONNRESET and other errno of recvmsg.
absl::StatusOr<ReceivedMessage> ReceiveMessage(int fd,
                                               absl::Span<uint8_t> buffer,
                                               int max_fds);

// ReceiveMessage() for a reply expected soon, awaited awake (see
// backends/linux/channel.h for why). Results as ReceiveMessage().
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

// The introduction: LOCAL_PEERCRED has no pid, so a client's first message,
// sent right after connect(), is one byte with kernel-filled SCM_CREDS
// (SendMessageWithCredentials), and the daemon learns the peer's pid from
// it (WithSenderPid, which refuses a sender whose effective uid is not the
// connection's).
inline constexpr uint8_t kIntroduction = 0x49;  // 'I'
absl::Status IntroduceSelf(int fd);

// The daemon's side: the peer's credentials (PeerCredentials) with the pid
// of its introduction, read without blocking. Results: the credentials;
// EAGAIN if the introduction has not arrived yet (call again when `fd` is
// readable); ECONNRESET if the peer closed first; EPROTO for a first
// message that is not an introduction; the errnos of PeerCredentials,
// ReceiveMessage and WithSenderPid.
absl::StatusOr<sysv::core::Credentials> IdentifyPeer(int fd);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_CHANNEL_H_

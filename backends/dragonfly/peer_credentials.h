// Who is on the other end of a Unix socket, as DragonFly's kernel says
// (DESIGN.md, decision 1: credentials never come from a message body).
//
// DragonFly gives credentials two ways, and each lacks what the other has:
//   - LOCAL_PEERCRED (getsockopt; what getpeereid(3) uses) returns a struct
//     xucred: effective uid and the group list (effective gid first),
//     recorded when the connection was made. It has NO pid: DragonFly's
//     xucred (sys/sys/ucred.h) is { cr_version, cr_uid, cr_ngroups,
//     cr_groups[NGROUPS], _cr_unused1 }. (FreeBSD added cr_pid in 13.0;
//     DragonFly has not.)
//   - SCM_CREDS: a sender attaches an SCM_CREDS control message with room
//     for a struct cmsgcred and the kernel overwrites every field with the
//     sender's pid, real and effective uid, real gid and groups (effective
//     gid first) as the message is sent (sys/kern/uipc_usrreq.c:
//     unp_internalize()), so it cannot be forged. It describes the SENDER
//     of that message, now, not whoever connected.
// So the daemon takes the connection's identity from LOCAL_PEERCRED, as on
// Linux (PeerCredentials(), pid 0), and the pid from the SCM_CREDS that the
// client runtime attaches to its register request (channel.h:
// SendMessageWithCredentials(), ReceivedMessage::sender), combined by
// WithSenderPid(), which refuses a sender whose effective uid is not the
// connection's.
//
// Portable: the getsockopt is behind peer_cred_sys.h and both structs are
// decoded from bytes (layouts in dragonfly_abi.h), so this file is tested on
// Linux.
#ifndef SYSV_BACKENDS_DRAGONFLY_PEER_CREDENTIALS_H_
#define SYSV_BACKENDS_DRAGONFLY_PEER_CREDENTIALS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/ipc/credentials.h"

namespace sysv::dragonfly_backend {

// The credentials of the process at the other end of the connected Unix
// socket `fd`, from LOCAL_PEERCRED, as Credentials::ForIds() builds them:
// effective uid and gid, and the supplementary groups; pid is 0 (unknown:
// see the file comment). Recorded at connect(2) (client end) or listen(2)
// (server end), so a client that changes its euid or groups afterwards keeps
// being seen as it was. DragonFly records them for connect(2) only, not for
// socketpair(2) (unp_connect() alone sets UNP_HAVEPC), so an end of a
// socketpair answers ENOTCONN. Results:
//   the credentials;
//   ENOTCONN   a socket that was never connect()ed, or made by socketpair();
//   EBADF, ENOTSOCK, EINVAL;
//   EPROTO     the kernel's answer is not a struct xucred we know (see
//              CredentialsFromXucred()).
absl::StatusOr<sysv::core::Credentials> PeerCredentials(int fd);

// Decodes a struct xucred (DragonFly x86_64 layout). Results: credentials
// with pid 0, uid = cr_uid, gid = cr_groups[0], groups = cr_groups[1..n);
// EPROTO if `bytes` is not exactly abi::kXucredSize long, cr_version is not
// XUCRED_VERSION, or cr_ngroups is outside 1..NGROUPS (there is always an
// effective gid).
absl::StatusOr<sysv::core::Credentials> CredentialsFromXucred(
    absl::Span<const uint8_t> bytes);

// What the kernel wrote into an SCM_CREDS message (struct cmsgcred).
struct SenderCredentials {
  int32_t pid = 0;
  uint32_t uid = 0;   // real uid
  uint32_t euid = 0;  // effective uid
  uint32_t gid = 0;   // real gid
  uint32_t egid = 0;  // effective gid: cmcred_groups[0]
  std::vector<uint32_t> groups;  // supplementary: cmcred_groups[1..n)

  friend bool operator==(const SenderCredentials&,
                         const SenderCredentials&) = default;
};

// Decodes a struct cmsgcred: the data of an SCM_CREDS control message. The
// caller (ParseControl(), control_message.h) has checked that the message
// was made by the kernel. Results: the credentials; EPROTO if `bytes` is
// shorter than abi::kCmsgcredSize, cmcred_ngroups is outside
// 1..CMGROUP_MAX, or cmcred_pid is not positive.
absl::StatusOr<SenderCredentials> SenderFromCmsgcred(
    absl::Span<const uint8_t> bytes);

// The connection's credentials (from PeerCredentials()) with the pid of the
// process that sent a message on it (from its SCM_CREDS). Results: `peer`
// with pid = sender.pid; EPERM if sender.euid != peer.uid: the message was
// sent by a process of another identity than the one that connected (a
// descriptor handed over, or an identity change since connect, after which
// the client runtime must reconnect).
absl::StatusOr<sysv::core::Credentials> WithSenderPid(
    sysv::core::Credentials peer, const SenderCredentials& sender);

// The calling process's own credentials in the same form (getpid, geteuid,
// getegid, getgroups), for the client side and for tests. Results: the
// credentials; or the errno of getgroups.
absl::StatusOr<sysv::core::Credentials> CurrentCredentials();
// The same, with `pid` as the pid, for a caller that knows its own (libsysv's
// runtime tracks it across fork): one system call fewer.
absl::StatusOr<sysv::core::Credentials> CurrentCredentials(int32_t pid);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_PEER_CREDENTIALS_H_

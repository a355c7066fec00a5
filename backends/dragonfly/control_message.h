// Building and reading the control data (ancillary data) of DragonFly
// Unix-socket messages: SCM_RIGHTS (descriptors, daemon to client) and
// SCM_CREDS (the sender's credentials, client to daemon), in DragonFly's
// layout (dragonfly_abi.h: a 12-byte struct cmsghdr, data at offset 16,
// SOL_SOCKET 0xffff), as bytes, so that the rules below are tested on Linux.
// channel.cc, which is DragonFly-only, hands these buffers to sendmsg(2)
// and recvmsg(2).
//
// Which control messages can be trusted. DragonFly's kernel processes only
// the FIRST control message of a send (sys/kern/uipc_usrreq.c:
// unp_internalize(): "If there are multiple headers (XXX not supported)"),
// and on receive translates descriptors only in the first
// (sys/kern/uipc_socket.c:soreceive() calls dom_externalize for the first
// cmsghdr, if it is SCM_RIGHTS). After an SCM_RIGHTS message the kernel cuts
// the control data to that message; after an SCM_CREDS one it does not, so
// a sender can append messages of its own making. Hence:
//   - an SCM_CREDS is believed only as the first message (the kernel
//     overwrote it); an SCM_RIGHTS only as the first (the rest would be the
//     sender's raw numbers, which name OUR descriptors: closing them would
//     close ours);
//   - a message with more than one control message is refused, after taking
//     ownership of the descriptors of a first SCM_RIGHTS so that none leak.
#ifndef SYSV_BACKENDS_DRAGONFLY_CONTROL_MESSAGE_H_
#define SYSV_BACKENDS_DRAGONFLY_CONTROL_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/peer_credentials.h"

namespace sysv::dragonfly_backend {

// At most this many descriptors travel in one message (as on Linux).
inline constexpr int kMaxFdsPerMessage = 253;

// Bytes of control data for an SCM_CREDS request, and for `count`
// descriptors: CMSG_SPACE of the payload.
inline constexpr size_t kCredsControlSize = abi::CmsgSpace(abi::kCmsgcredSize);
constexpr size_t RightsControlSize(size_t count) {
  return abi::CmsgSpace(count * sizeof(int32_t));
}
// Room for whatever ReceiveMessage() accepts: up to kMaxFdsPerMessage
// descriptors or one SCM_CREDS.
inline constexpr size_t kMaxControlSize =
    RightsControlSize(kMaxFdsPerMessage) > kCredsControlSize
        ? RightsControlSize(kMaxFdsPerMessage)
        : kCredsControlSize;

// Writes into `control` one SOL_SOCKET/SCM_CREDS message whose struct
// cmsgcred is zeroed: the kernel fills every field as the message is sent.
// Returns the bytes used (kCredsControlSize), or 0 if `control` is smaller.
size_t BuildCredsRequest(absl::Span<uint8_t> control);

// Writes into `control` one SOL_SOCKET/SCM_RIGHTS message carrying `fds`.
// Returns the bytes used (RightsControlSize(fds.size())), or 0 if `control`
// is smaller or `fds` is empty.
size_t BuildRights(absl::Span<uint8_t> control, absl::Span<const int> fds);

// What ParseControl() found.
struct ParsedControl {
  std::vector<sysv::backend::UniqueFd> fds;  // owned now
  std::optional<SenderCredentials> sender;   // from a kernel-made SCM_CREDS
};

// Reads the control data a recvmsg() returned (`control`: msg_control,
// msg_controllen bytes of it), by the rules in the file comment. Results:
//   what it found (nothing, descriptors, or credentials);
//   EPERM   more than one control message (its descriptors, if the first
//           carried any, are closed);
//   EPROTO  a control message that is malformed (a length that is too short
//           or runs past the buffer), of a kind we do not take, or an
//           SCM_CREDS that SenderFromCmsgcred() refuses.
absl::StatusOr<ParsedControl> ParseControl(absl::Span<const uint8_t> control);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_CONTROL_MESSAGE_H_

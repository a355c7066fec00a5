// Encoding and validated decoding of wire messages (core/protocol/wire.h).
//
// Decoding never trusts a byte it has not checked: the header's magic,
// version, operation and length are validated, and the length must be exactly
// that of the operation's body, before the body is copied out. Fuzzed by
// tests/fuzz/codec_fuzzer.cc.
#ifndef SYSV_CORE_PROTOCOL_CODEC_H_
#define SYSV_CORE_PROTOCOL_CODEC_H_

#include <cstdint>
#include <cstring>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/ipc/ipc_perm.h"
#include "core/protocol/wire.h"

namespace sysv::core::wire {

using Bytes = std::vector<uint8_t>;

// An object's ipc_perm as the *ctl replies carry it.
inline WirePerm ToWirePerm(const IpcPerm& perm) {
  return WirePerm{perm.key, perm.uid, perm.gid, perm.cuid, perm.cgid, perm.mode, perm.seq, 0};
}

// A request as the daemon receives it.
using RequestBody = std::variant<RegisterRequest, ShmGetRequest, ShmAttachRequest, ShmCtlRequest,
                                 ShmSweepRequest, SemGetRequest, SemOpenRequest, SemCtlRequest,
                                 MsgGetRequest, MsgOpenRequest, MsgCtlRequest, SemWaitZeroRequest,
                                 SemWaitZeroEndRequest, MsgSendRequest, MsgSendPartRequest,
                                 MsgReceiveRequest, MsgReceiveEndRequest, SysctlRequest>;
struct DecodedRequest {
  Op op;
  uint32_t request_id;
  RequestBody body;
};

// Validates and decodes one request. Errors (EPROTO for a malformed
// message, EPROTONOSUPPORT for another protocol version, EOPNOTSUPP for an
// operation this daemon does not serve) say what was wrong.
absl::StatusOr<DecodedRequest> DecodeRequest(absl::Span<const uint8_t> message);

// Reads just the header, to reply to a request that failed to decode.
absl::StatusOr<Header> DecodeHeader(absl::Span<const uint8_t> message);

Bytes EncodeMessage(Op op, uint32_t request_id, const void* body, size_t body_size);

template <Op kOp>
Bytes EncodeRequest(uint32_t request_id, const typename OpTraits<kOp>::Request& body) {
  return EncodeMessage(kOp, request_id, &body, sizeof(body));
}
template <Op kOp>
Bytes EncodeReply(uint32_t request_id, const typename OpTraits<kOp>::Reply& body) {
  return EncodeMessage(kOp, request_id, &body, sizeof(body));
}
// A reply carrying only an error: the body of `op` zeroed but for its status.
Bytes EncodeErrorReply(Op op, uint32_t request_id, int error);

// A connection the daemon will not serve (its user has used his share of
// connections) is told why before it is closed, so that the client reports
// an errno rather than a reset: the daemon sends this at accept, unasked,
// and closes. It is an error reply to kRegister (a client's first request)
// with request id kRefusalRequestId, which no client request uses; it stays
// readable after the close.
inline constexpr uint32_t kRefusalRequestId = 0;
Bytes EncodeRefusal(int error);
// The errno of a refusal, or 0 if `message` is not one.
int DecodeRefusal(absl::Span<const uint8_t> message);

// Validates a reply: header, op and request id as expected, exact length.
absl::Status CheckReply(absl::Span<const uint8_t> message, Op op, uint32_t request_id,
                        size_t body_size);

template <Op kOp>
absl::StatusOr<typename OpTraits<kOp>::Reply> DecodeReply(absl::Span<const uint8_t> message,
                                                           uint32_t request_id) {
  using Reply = typename OpTraits<kOp>::Reply;
  if (absl::Status status = CheckReply(message, kOp, request_id, sizeof(Reply)); !status.ok()) {
    return status;
  }
  Reply reply;
  std::memcpy(&reply, message.data() + sizeof(Header), sizeof(Reply));
  return reply;
}

}  // namespace sysv::core::wire

#endif  // SYSV_CORE_PROTOCOL_CODEC_H_

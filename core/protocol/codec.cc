#include "core/protocol/codec.h"

#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"

namespace sysv::core::wire {
namespace {

template <typename Body>
absl::StatusOr<RequestBody> CopyBody(absl::Span<const uint8_t> message) {
  if (message.size() != sizeof(Header) + sizeof(Body)) {
    return ErrnoStatus(EPROTO, absl::StrFormat("request of %u bytes, expected %u", message.size(),
                                               sizeof(Header) + sizeof(Body)));
  }
  Body body;
  std::memcpy(&body, message.data() + sizeof(Header), sizeof(Body));
  return RequestBody(body);
}

// The size of a reply body for `op`, or 0 for an unknown op.
size_t ReplySize(Op op) {
  switch (op) {
    case Op::kRegister:
      return sizeof(RegisterReply);
    case Op::kShmGet:
      return sizeof(ShmGetReply);
    case Op::kShmAttach:
      return sizeof(ShmAttachReply);
    case Op::kShmCtl:
      return sizeof(ShmCtlReply);
    case Op::kShmSweep:
      return sizeof(ShmSweepReply);
    case Op::kSemGet:
      return sizeof(SemGetReply);
    case Op::kSemOpen:
      return sizeof(SemOpenReply);
    case Op::kSemCtl:
      return sizeof(SemCtlReply);
    case Op::kMsgGet:
      return sizeof(MsgGetReply);
    case Op::kMsgOpen:
      return sizeof(MsgOpenReply);
    case Op::kMsgCtl:
      return sizeof(MsgCtlReply);
    case Op::kSemWaitZero:
      return sizeof(SemWaitZeroReply);
    case Op::kSemWaitZeroEnd:
      return sizeof(SemWaitZeroEndReply);
    case Op::kMsgSend:
    case Op::kMsgSendPart:
      return sizeof(MsgSendReply);
    case Op::kMsgReceive:
    case Op::kMsgReceiveEnd:
      return sizeof(MsgReceiveReply);
    case Op::kSysctl:
      return sizeof(SysctlReply);
    default:
      return 0;
  }
}

}  // namespace

absl::StatusOr<Header> DecodeHeader(absl::Span<const uint8_t> message) {
  if (message.size() < sizeof(Header)) {
    return ErrnoStatus(EPROTO, absl::StrFormat("message of %u bytes has no header", message.size()));
  }
  Header header;
  std::memcpy(&header, message.data(), sizeof(header));
  if (header.magic != kMagic) return ErrnoStatus(EPROTO, "message has a bad magic number");
  if (header.version != kVersion) {
    return ErrnoStatus(EPROTONOSUPPORT,
                       absl::StrFormat("protocol version %u, this side speaks %u", header.version, kVersion));
  }
  if (header.length != message.size()) {
    return ErrnoStatus(EPROTO, absl::StrFormat("header says %u bytes, message has %u", header.length,
                                               message.size()));
  }
  return header;
}

absl::StatusOr<DecodedRequest> DecodeRequest(absl::Span<const uint8_t> message) {
  absl::StatusOr<Header> header = DecodeHeader(message);
  if (!header.ok()) return header.status();
  absl::StatusOr<RequestBody> body;
  const Op op = static_cast<Op>(header->op);
  switch (op) {
    case Op::kRegister:
      body = CopyBody<RegisterRequest>(message);
      break;
    case Op::kShmGet:
      body = CopyBody<ShmGetRequest>(message);
      break;
    case Op::kShmAttach:
      body = CopyBody<ShmAttachRequest>(message);
      break;
    case Op::kShmCtl:
      body = CopyBody<ShmCtlRequest>(message);
      break;
    case Op::kShmSweep:
      body = CopyBody<ShmSweepRequest>(message);
      break;
    case Op::kSemGet:
      body = CopyBody<SemGetRequest>(message);
      break;
    case Op::kSemOpen:
      body = CopyBody<SemOpenRequest>(message);
      break;
    case Op::kSemCtl:
      body = CopyBody<SemCtlRequest>(message);
      break;
    case Op::kMsgGet:
      body = CopyBody<MsgGetRequest>(message);
      break;
    case Op::kMsgOpen:
      body = CopyBody<MsgOpenRequest>(message);
      break;
    case Op::kMsgCtl:
      body = CopyBody<MsgCtlRequest>(message);
      break;
    case Op::kSemWaitZero:
      body = CopyBody<SemWaitZeroRequest>(message);
      break;
    case Op::kSemWaitZeroEnd:
      body = CopyBody<SemWaitZeroEndRequest>(message);
      break;
    case Op::kMsgSend:
      body = CopyBody<MsgSendRequest>(message);
      break;
    case Op::kMsgSendPart:
      body = CopyBody<MsgSendPartRequest>(message);
      break;
    case Op::kMsgReceive:
      body = CopyBody<MsgReceiveRequest>(message);
      break;
    case Op::kMsgReceiveEnd:
      body = CopyBody<MsgReceiveEndRequest>(message);
      break;
    case Op::kSysctl:
      body = CopyBody<SysctlRequest>(message);
      break;
    default:
      return ErrnoStatus(EOPNOTSUPP, absl::StrFormat("unknown operation %u", header->op));
  }
  if (!body.ok()) return body.status();
  return DecodedRequest{op, header->request_id, *std::move(body)};
}

Bytes EncodeMessage(Op op, uint32_t request_id, const void* body, size_t body_size) {
  Bytes message(sizeof(Header) + body_size);
  const Header header{kMagic, kVersion, static_cast<uint16_t>(op),
                      static_cast<uint32_t>(message.size()), request_id};
  std::memcpy(message.data(), &header, sizeof(header));
  if (body_size != 0) std::memcpy(message.data() + sizeof(header), body, body_size);
  return message;
}

Bytes EncodeErrorReply(Op op, uint32_t request_id, int error) {
  size_t size = ReplySize(op);
  if (size == 0) size = sizeof(ReplyStatus);
  std::vector<uint8_t> body(size, 0);
  const ReplyStatus status{error, 0};
  std::memcpy(body.data(), &status, sizeof(status));
  return EncodeMessage(op, request_id, body.data(), body.size());
}

Bytes EncodeRefusal(int error) { return EncodeErrorReply(Op::kRegister, kRefusalRequestId, error); }

int DecodeRefusal(absl::Span<const uint8_t> message) {
  absl::StatusOr<RegisterReply> reply = DecodeReply<Op::kRegister>(message, kRefusalRequestId);
  return reply.ok() && reply->status.error > 0 ? reply->status.error : 0;
}

absl::Status CheckReply(absl::Span<const uint8_t> message, Op op, uint32_t request_id,
                        size_t body_size) {
  absl::StatusOr<Header> header = DecodeHeader(message);
  if (!header.ok()) return header.status();
  if (header->op != static_cast<uint16_t>(op) || header->request_id != request_id) {
    return ErrnoStatus(EPROTO, absl::StrFormat("reply for op %u request %u, expected op %u request %u",
                                               header->op, header->request_id,
                                               static_cast<uint16_t>(op), request_id));
  }
  if (message.size() != sizeof(Header) + body_size) {
    // An error reply to an unknown op carries only its status.
    if (message.size() == sizeof(Header) + sizeof(ReplyStatus)) {
      ReplyStatus status;
      std::memcpy(&status, message.data() + sizeof(Header), sizeof(status));
      if (status.error > 0) return ErrnoStatus(status.error, "the daemon refused the request");
    }
    return ErrnoStatus(EPROTO, absl::StrFormat("reply body of %u bytes, expected %u",
                                               message.size() - sizeof(Header), body_size));
  }
  return absl::OkStatus();
}

}  // namespace sysv::core::wire

// Tests of wire encoding and validated decoding.
#include "core/protocol/codec.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <variant>
#include <vector>

#include "absl/types/span.h"
#include "core/ipc/errno_status.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"

namespace sysv::core::wire {
namespace {

Header HeaderOf(const Bytes& message) {
  Header header;
  std::memcpy(&header, message.data(), sizeof(header));
  return header;
}

void SetHeader(Bytes& message, const Header& header) {
  std::memcpy(message.data(), &header, sizeof(header));
}

template <typename T>
bool SameBytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

int DecodeErrno(const Bytes& message) { return ErrnoOf(DecodeRequest(message).status()); }

RegisterRequest SampleRegister() { return RegisterRequest{kRegisterFreshImage, 0}; }
ShmGetRequest SampleShmGet() { return ShmGetRequest{0x1234, 01000 | 0600, 1 << 20}; }
ShmAttachRequest SampleShmAttach() { return ShmAttachRequest{32769, 010000}; }
ShmCtlRequest SampleShmCtl() { return ShmCtlRequest{77, 1, 1000, 100, 0640, 0, UINT64_MAX}; }

// --- requests

TEST(CodecTest, RegisterRequestRoundTrips) {
  const Bytes message = EncodeRequest<Op::kRegister>(11, SampleRegister());
  EXPECT_EQ(message.size(), sizeof(Header) + sizeof(RegisterRequest));
  absl::StatusOr<DecodedRequest> decoded = DecodeRequest(message);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->op, Op::kRegister);
  EXPECT_EQ(decoded->request_id, 11u);
  ASSERT_TRUE(std::holds_alternative<RegisterRequest>(decoded->body));
  EXPECT_TRUE(SameBytes(std::get<RegisterRequest>(decoded->body), SampleRegister()));
}

TEST(CodecTest, ShmGetRequestRoundTrips) {
  const Bytes message = EncodeRequest<Op::kShmGet>(12, SampleShmGet());
  absl::StatusOr<DecodedRequest> decoded = DecodeRequest(message);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->op, Op::kShmGet);
  EXPECT_EQ(decoded->request_id, 12u);
  ASSERT_TRUE(std::holds_alternative<ShmGetRequest>(decoded->body));
  const ShmGetRequest& body = std::get<ShmGetRequest>(decoded->body);
  EXPECT_EQ(body.key, 0x1234);
  EXPECT_EQ(body.flags, 01600);
  EXPECT_EQ(body.size, uint64_t{1} << 20);
}

TEST(CodecTest, ShmAttachRequestRoundTrips) {
  const Bytes message = EncodeRequest<Op::kShmAttach>(13, SampleShmAttach());
  absl::StatusOr<DecodedRequest> decoded = DecodeRequest(message);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->op, Op::kShmAttach);
  EXPECT_EQ(decoded->request_id, 13u);
  ASSERT_TRUE(std::holds_alternative<ShmAttachRequest>(decoded->body));
  EXPECT_TRUE(SameBytes(std::get<ShmAttachRequest>(decoded->body), SampleShmAttach()));
}

TEST(CodecTest, ShmCtlRequestRoundTrips) {
  const Bytes message = EncodeRequest<Op::kShmCtl>(UINT32_MAX, SampleShmCtl());
  absl::StatusOr<DecodedRequest> decoded = DecodeRequest(message);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->op, Op::kShmCtl);
  EXPECT_EQ(decoded->request_id, UINT32_MAX);
  ASSERT_TRUE(std::holds_alternative<ShmCtlRequest>(decoded->body));
  const ShmCtlRequest& body = std::get<ShmCtlRequest>(decoded->body);
  EXPECT_EQ(body.id, 77);
  EXPECT_EQ(body.cmd, 1);
  EXPECT_EQ(body.uid, 1000u);
  EXPECT_EQ(body.gid, 100u);
  EXPECT_EQ(body.mode, 0640u);
  EXPECT_EQ(body.memlock_limit, UINT64_MAX);
}

TEST(CodecTest, ShmSweepRequestRoundTrips) {
  const Bytes message = EncodeRequest<Op::kShmSweep>(14, ShmSweepRequest{65537, 0});
  EXPECT_EQ(message.size(), sizeof(Header) + sizeof(ShmSweepRequest));
  absl::StatusOr<DecodedRequest> decoded = DecodeRequest(message);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->op, Op::kShmSweep);
  EXPECT_EQ(decoded->request_id, 14u);
  ASSERT_TRUE(std::holds_alternative<ShmSweepRequest>(decoded->body));
  EXPECT_EQ(std::get<ShmSweepRequest>(decoded->body).id, 65537);
}

// Encodes `request`, decodes it, and returns the body as decoded.
template <Op kOp>
typename OpTraits<kOp>::Request RoundTrip(const typename OpTraits<kOp>::Request& request) {
  const Bytes message = EncodeRequest<kOp>(21, request);
  EXPECT_EQ(message.size(), sizeof(Header) + sizeof(request));
  absl::StatusOr<DecodedRequest> decoded = DecodeRequest(message);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  if (!decoded.ok()) return {};
  EXPECT_EQ(decoded->op, kOp);
  EXPECT_EQ(decoded->request_id, 21u);
  EXPECT_TRUE(std::holds_alternative<typename OpTraits<kOp>::Request>(decoded->body));
  return std::get<typename OpTraits<kOp>::Request>(decoded->body);
}

TEST(CodecTest, MessageQueueRequestsRoundTrip) {
  EXPECT_EQ(RoundTrip<Op::kMsgGet>(MsgGetRequest{0x4d2, 01600}).flags, 01600);
  EXPECT_EQ(RoundTrip<Op::kMsgOpen>(MsgOpenRequest{32769, 0}).id, 32769);
  const MsgCtlRequest ctl = RoundTrip<Op::kMsgCtl>(MsgCtlRequest{5, 1, 1000, 100, 0640, 0, uint64_t{1} << 20});
  EXPECT_EQ(ctl.qbytes, uint64_t{1} << 20);
  EXPECT_EQ(ctl.mode, 0640u);
}

TEST(CodecTest, RefusalCarriesItsErrnoAndIsNoOrdinaryReply) {
  EXPECT_EQ(DecodeRefusal(EncodeRefusal(EAGAIN)), EAGAIN);
  EXPECT_EQ(DecodeRefusal(EncodeErrorReply(Op::kRegister, 1, EAGAIN)), 0);
  EXPECT_EQ(DecodeRefusal(EncodeReply<Op::kRegister>(kRefusalRequestId, RegisterReply{})), 0);
  EXPECT_EQ(DecodeRefusal(EncodeErrorReply(Op::kShmGet, kRefusalRequestId, EAGAIN)), 0);
  const Bytes truncated(4, 0);
  EXPECT_EQ(DecodeRefusal(truncated), 0);
}

TEST(CodecTest, SemaphoreDaemonAssistedRequestsRoundTrip) {
  SemWaitZeroRequest wait{};
  wait.id = 7;
  wait.nsops = 2;
  wait.tid = 4321;
  wait.sops[1] = WireSemOp{3, 0, 04000};
  const SemWaitZeroRequest got = RoundTrip<Op::kSemWaitZero>(wait);
  EXPECT_EQ(got.nsops, 2u);
  EXPECT_EQ(got.tid, 4321);
  EXPECT_EQ(got.sops[1].num, 3);
  EXPECT_EQ(RoundTrip<Op::kSemWaitZeroEnd>(SemWaitZeroEndRequest{7, 4, 4, 0}).reason, 4);
  SysctlRequest sysctl{};
  sysctl.file = 4;
  sysctl.action = static_cast<uint32_t>(SysctlAction::kWrite);
  sysctl.length = 3;
  sysctl.text[0] = '2';
  EXPECT_EQ(RoundTrip<Op::kSysctl>(sysctl).text[0], '2');
  SemCtlRequest read{};
  read.id = 7;
  read.cmd = 12;  // GETVAL
  read.semnum = 1;
  EXPECT_EQ(RoundTrip<Op::kSemCtl>(read).semnum, 1);
}

TEST(CodecTest, EncodedHeaderDescribesTheMessage) {
  const Bytes message = EncodeRequest<Op::kShmCtl>(99, SampleShmCtl());
  const Header header = HeaderOf(message);
  EXPECT_EQ(header.magic, kMagic);
  EXPECT_EQ(header.version, kVersion);
  EXPECT_EQ(header.op, static_cast<uint16_t>(Op::kShmCtl));
  EXPECT_EQ(header.length, message.size());
  EXPECT_EQ(header.request_id, 99u);
  absl::StatusOr<Header> decoded = DecodeHeader(message);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(SameBytes(*decoded, header));
}

TEST(CodecTest, RejectsAMessageShorterThanTheHeader) {
  const Bytes message = EncodeRequest<Op::kShmGet>(1, SampleShmGet());
  for (size_t size : {size_t{0}, size_t{1}, sizeof(Header) - 1}) {
    const Bytes truncated(message.begin(), message.begin() + size);
    EXPECT_EQ(DecodeErrno(truncated), EPROTO) << size;
    EXPECT_EQ(ErrnoOf(DecodeHeader(truncated).status()), EPROTO) << size;
  }
}

TEST(CodecTest, RejectsABadMagic) {
  Bytes message = EncodeRequest<Op::kShmGet>(1, SampleShmGet());
  Header header = HeaderOf(message);
  header.magic = 0x53595356;  // the magic byte-swapped
  SetHeader(message, header);
  EXPECT_EQ(DecodeErrno(message), EPROTO);
  EXPECT_EQ(ErrnoOf(DecodeHeader(message).status()), EPROTO);
}

TEST(CodecTest, RejectsAnotherProtocolVersionWithEprotonosupport) {
  for (uint16_t version : {uint16_t{0}, uint16_t{kVersion + 1}, uint16_t{0xffff}}) {
    Bytes message = EncodeRequest<Op::kShmGet>(1, SampleShmGet());
    Header header = HeaderOf(message);
    header.version = version;
    SetHeader(message, header);
    EXPECT_EQ(DecodeErrno(message), EPROTONOSUPPORT) << version;
    EXPECT_EQ(ErrnoOf(DecodeHeader(message).status()), EPROTONOSUPPORT) << version;
  }
}

TEST(CodecTest, RejectsALengthFieldThatDisagreesWithTheMessage) {
  Bytes message = EncodeRequest<Op::kShmGet>(1, SampleShmGet());
  Header header = HeaderOf(message);
  for (uint32_t length : {header.length - 1, header.length + 1, uint32_t{0}, UINT32_MAX}) {
    Header bad = header;
    bad.length = length;
    SetHeader(message, bad);
    EXPECT_EQ(DecodeErrno(message), EPROTO) << length;
    EXPECT_EQ(ErrnoOf(DecodeHeader(message).status()), EPROTO) << length;
  }
  // A truncated message whose header still claims the full length.
  SetHeader(message, header);
  message.pop_back();
  EXPECT_EQ(DecodeErrno(message), EPROTO);
}

TEST(CodecTest, RejectsAnUnknownOperationWithEopnotsupp) {
  for (uint16_t op : {uint16_t{0}, uint16_t{12}, uint16_t{200}, uint16_t{0xffff}}) {
    Bytes message = EncodeRequest<Op::kShmGet>(1, SampleShmGet());
    Header header = HeaderOf(message);
    header.op = op;
    SetHeader(message, header);
    EXPECT_EQ(DecodeErrno(message), EOPNOTSUPP) << op;
    // The header alone is still readable, so the daemon can answer.
    absl::StatusOr<Header> decoded = DecodeHeader(message);
    ASSERT_TRUE(decoded.ok()) << op;
    EXPECT_EQ(decoded->op, op);
  }
}

TEST(CodecTest, RejectsABodyOfTheWrongSize) {
  // A consistent header, but the body of another operation.
  Bytes message = EncodeRequest<Op::kRegister>(1, SampleRegister());
  Header header = HeaderOf(message);
  header.op = static_cast<uint16_t>(Op::kShmGet);
  SetHeader(message, header);
  EXPECT_EQ(DecodeErrno(message), EPROTO);
  EXPECT_TRUE(DecodeHeader(message).ok());

  // A body one byte too long, length field updated to match.
  message = EncodeRequest<Op::kShmAttach>(1, SampleShmAttach());
  message.push_back(0);
  header = HeaderOf(message);
  header.length = static_cast<uint32_t>(message.size());
  SetHeader(message, header);
  EXPECT_EQ(DecodeErrno(message), EPROTO);

  // A bare header.
  message = EncodeMessage(Op::kShmCtl, 1, nullptr, 0);
  EXPECT_EQ(message.size(), sizeof(Header));
  EXPECT_EQ(DecodeErrno(message), EPROTO);
}

// --- replies

TEST(CodecTest, ShmGetReplyRoundTrips) {
  const ShmGetReply reply{{0, 0}, 32768, 0};
  absl::StatusOr<ShmGetReply> decoded =
      DecodeReply<Op::kShmGet>(EncodeReply<Op::kShmGet>(5, reply), 5);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(SameBytes(*decoded, reply));
}

TEST(CodecTest, RegisterAndAttachRepliesRoundTrip) {
  const RegisterReply registered{{0, 0}, 4096, 4096, 0x0123456789abcdefULL};
  absl::StatusOr<RegisterReply> r =
      DecodeReply<Op::kRegister>(EncodeReply<Op::kRegister>(1, registered), 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(SameBytes(*r, registered));

  const ShmAttachReply attached{{0, 0}, 7, 1, 8192};
  absl::StatusOr<ShmAttachReply> a =
      DecodeReply<Op::kShmAttach>(EncodeReply<Op::kShmAttach>(2, attached), 2);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(SameBytes(*a, attached));
}

TEST(CodecTest, ShmCtlReplyRoundTripsEveryField) {
  ShmCtlReply reply;
  std::memset(&reply, 0, sizeof(reply));
  // Fill with a byte pattern so a misplaced field shows.
  auto* bytes = reinterpret_cast<uint8_t*>(&reply);
  for (size_t i = 0; i < sizeof(reply); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  reply.status = {0, 0};
  absl::StatusOr<ShmCtlReply> decoded =
      DecodeReply<Op::kShmCtl>(EncodeReply<Op::kShmCtl>(3, reply), 3);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(SameBytes(*decoded, reply));
}

TEST(CodecTest, DecodeReplyRejectsAReplyToAnotherOperation) {
  // Refused on the op alone, before the body size is looked at.
  const Bytes message = EncodeReply<Op::kShmAttach>(5, ShmAttachReply{{0, 0}, 1, 1, 4096, 4096, 4096});
  absl::StatusOr<RegisterReply> wrong = DecodeReply<Op::kRegister>(message, 5);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(ErrnoOf(wrong.status()), EPROTO);
  // Even an error reply is refused when it answers another operation.
  const Bytes error = EncodeErrorReply(Op::kShmAttach, 5, EACCES);
  EXPECT_EQ(ErrnoOf(DecodeReply<Op::kRegister>(error, 5).status()), EPROTO);
}

TEST(CodecTest, DecodeReplyRejectsAReplyToAnotherRequest) {
  const Bytes message = EncodeReply<Op::kShmGet>(5, ShmGetReply{{0, 0}, 1, 0});
  absl::StatusOr<ShmGetReply> wrong = DecodeReply<Op::kShmGet>(message, 6);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(ErrnoOf(wrong.status()), EPROTO);
}

TEST(CodecTest, DecodeReplyRejectsABodyOfTheWrongSize) {
  Bytes message = EncodeReply<Op::kShmGet>(5, ShmGetReply{{0, 0}, 1, 0});
  message.push_back(0);
  Header header = HeaderOf(message);
  header.length = static_cast<uint32_t>(message.size());
  SetHeader(message, header);
  absl::StatusOr<ShmGetReply> wrong = DecodeReply<Op::kShmGet>(message, 5);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(ErrnoOf(wrong.status()), EPROTO);
}

TEST(CodecTest, DecodeReplyRejectsABadHeader) {
  Bytes message = EncodeReply<Op::kShmGet>(5, ShmGetReply{{0, 0}, 1, 0});
  Header header = HeaderOf(message);
  header.version = kVersion + 1;
  SetHeader(message, header);
  EXPECT_EQ(ErrnoOf(DecodeReply<Op::kShmGet>(message, 5).status()), EPROTONOSUPPORT);
  const Bytes empty;
  EXPECT_EQ(ErrnoOf(DecodeReply<Op::kShmGet>(empty, 5).status()), EPROTO);
}

TEST(CodecTest, ErrorReplyDecodesWithTheError) {
  const Bytes message = EncodeErrorReply(Op::kShmGet, 8, ENOENT);
  EXPECT_EQ(message.size(), sizeof(Header) + sizeof(ShmGetReply));
  absl::StatusOr<ShmGetReply> reply = DecodeReply<Op::kShmGet>(message, 8);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status.error, ENOENT);
  EXPECT_EQ(reply->id, 0);

  absl::StatusOr<ShmCtlReply> ctl =
      DecodeReply<Op::kShmCtl>(EncodeErrorReply(Op::kShmCtl, 9, EACCES), 9);
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  EXPECT_EQ(ctl->status.error, EACCES);
  EXPECT_EQ(ctl->nattch, 0u);
}

TEST(CodecTest, ShmSweepErrorReplyDecodesWithTheError) {
  absl::StatusOr<ShmSweepReply> reply =
      DecodeReply<Op::kShmSweep>(EncodeErrorReply(Op::kShmSweep, 10, EINVAL), 10);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status.error, EINVAL);
}

TEST(CodecTest, ErrorReplyToAnUnknownOperationCarriesOnlyItsStatus) {
  const Op unknown = static_cast<Op>(77);
  const Bytes message = EncodeErrorReply(unknown, 4, EOPNOTSUPP);
  EXPECT_EQ(message.size(), sizeof(Header) + sizeof(ReplyStatus));
  const absl::Status status = CheckReply(message, unknown, 4, sizeof(ShmGetReply));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(ErrnoOf(status), EOPNOTSUPP);
  // A known operation's error reply has its whole body, the error first.
  const Bytes msg = EncodeErrorReply(Op::kMsgGet, 5, EACCES);
  absl::StatusOr<MsgGetReply> reply = DecodeReply<Op::kMsgGet>(msg, 5);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status.error, EACCES);
}

TEST(CodecTest, ShortReplyWithoutAnErrorIsAProtocolError) {
  const Bytes message = EncodeErrorReply(static_cast<Op>(77), 4, 0);
  EXPECT_EQ(ErrnoOf(CheckReply(message, static_cast<Op>(77), 4, 16)), EPROTO);
  const Bytes negative = EncodeErrorReply(static_cast<Op>(77), 4, -5);
  EXPECT_EQ(ErrnoOf(CheckReply(negative, static_cast<Op>(77), 4, 16)), EPROTO);
}

// --- robustness

// Decodes `message` every way there is; returns whether DecodeRequest took it.
bool DecodeEveryWay(const Bytes& message) {
  const absl::Span<const uint8_t> span(message);
  (void)DecodeHeader(span);
  (void)DecodeReply<Op::kRegister>(span, 1);
  (void)DecodeReply<Op::kShmGet>(span, 1);
  (void)DecodeReply<Op::kShmAttach>(span, 1);
  (void)DecodeReply<Op::kShmCtl>(span, 1);
  (void)DecodeReply<Op::kShmSweep>(span, 1);
  absl::StatusOr<DecodedRequest> request = DecodeRequest(span);
  if (!request.ok()) {
    const int errnum = ErrnoOf(request.status());
    EXPECT_TRUE(errnum == EPROTO || errnum == EPROTONOSUPPORT || errnum == EOPNOTSUPP) << errnum;
    return false;
  }
  // A request that decodes re-encodes to the very same bytes.
  const Bytes again = std::visit(
      [&](const auto& body) {
        return EncodeMessage(request->op, request->request_id, &body, sizeof(body));
      },
      request->body);
  EXPECT_EQ(again, message);
  return true;
}

TEST(CodecTest, RandomBytesNeverCrashTheDecoders) {
  std::mt19937 rng(0x5eed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 80);
  std::uniform_int_distribution<int> choice(0, 9);
  int accepted = 0;
  for (int i = 0; i < 100'000; ++i) {
    Bytes message(length(rng));
    for (uint8_t& b : message) b = static_cast<uint8_t>(byte(rng));
    // Most inputs get a plausible header so decoding gets past it.
    if (message.size() >= sizeof(Header) && choice(rng) < 7) {
      Header header;
      std::memcpy(&header, message.data(), sizeof(header));
      header.magic = kMagic;
      if (choice(rng) < 8) header.version = kVersion;
      header.op = static_cast<uint16_t>(choice(rng));
      if (choice(rng) < 8) header.length = static_cast<uint32_t>(message.size());
      std::memcpy(message.data(), &header, sizeof(header));
    }
    if (DecodeEveryWay(message)) ++accepted;
    if (HasFailure()) break;
  }
  // The generator reaches valid requests too, not only the early rejections.
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace sysv::core::wire

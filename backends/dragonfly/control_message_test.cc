// The DragonFly control-message rules on Linux, over synthetic buffers in
// DragonFly's layout (dragonfly_test_structs.h).
#include "backends/dragonfly/control_message.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/dragonfly_test_structs.h"
#include "core/ipc/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::ErrnoOf;
using testing::TestCmsgcred;
using testing::TestCmsghdr;
using ::testing::ElementsAre;

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) >= 0; }

// Control data assembled message by message, as a kernel or a lying sender
// would lay it out.
class ControlBuffer {
 public:
  ControlBuffer& Add(int level, int type, const void* data, size_t size,
                     size_t claimed_length = 0) {
    const size_t start = bytes_.size();
    bytes_.resize(start + abi::CmsgSpace(size), 0);
    TestCmsghdr header;
    header.cmsg_len = static_cast<uint32_t>(
        claimed_length != 0 ? claimed_length : abi::CmsgLen(size));
    header.cmsg_level = level;
    header.cmsg_type = type;
    std::memcpy(bytes_.data() + start, &header, sizeof(header));
    if (size > 0) {
      std::memcpy(bytes_.data() + start + abi::kCmsgDataOffset, data, size);
    }
    return *this;
  }
  ControlBuffer& Creds(const TestCmsgcred& cred) {
    return Add(abi::kSolSocket, abi::kScmCreds, &cred, sizeof(cred));
  }
  ControlBuffer& Rights(const std::vector<int32_t>& fds) {
    return Add(abi::kSolSocket, abi::kScmRights, fds.data(),
               fds.size() * sizeof(int32_t));
  }
  absl::Span<const uint8_t> span() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

TestCmsgcred SomeCred() {
  TestCmsgcred cred;
  std::memset(&cred, 0, sizeof(cred));
  cred.cmcred_pid = 777;
  cred.cmcred_uid = 1000;
  cred.cmcred_euid = 1000;
  cred.cmcred_gid = 100;
  cred.cmcred_ngroups = 2;
  cred.cmcred_groups[0] = 100;
  cred.cmcred_groups[1] = 5;
  return cred;
}

// Two fresh descriptors to carry (the read and write ends of a pipe).
std::vector<int32_t> TwoFds() {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  return {fds[0], fds[1]};
}

TEST(ControlMessageTest, SizesMatchDragonFlysMacros) {
  // CMSG_SPACE(sizeof(struct cmsgcred)) = 16 + _CMSG_ALIGN(84).
  EXPECT_EQ(kCredsControlSize, 104u);
  EXPECT_EQ(RightsControlSize(1), 24u);
  EXPECT_EQ(RightsControlSize(3), 32u);
  EXPECT_GE(kMaxControlSize, RightsControlSize(kMaxFdsPerMessage));
}

TEST(ControlMessageTest, BuildsACredsRequest) {
  std::vector<uint8_t> control(200, 0xaa);
  ASSERT_EQ(BuildCredsRequest(absl::MakeSpan(control)), kCredsControlSize);
  TestCmsghdr header;
  std::memcpy(&header, control.data(), sizeof(header));
  EXPECT_EQ(header.cmsg_len, abi::CmsgLen(sizeof(TestCmsgcred)));
  EXPECT_EQ(header.cmsg_level, abi::kSolSocket);
  EXPECT_EQ(header.cmsg_type, abi::kScmCreds);
  for (size_t i = abi::kCmsgDataOffset; i < kCredsControlSize; ++i) {
    EXPECT_EQ(control[i], 0) << i;  // the kernel fills all of it
  }
  EXPECT_EQ(control[kCredsControlSize], 0xaa);
  std::vector<uint8_t> small(kCredsControlSize - 1);
  EXPECT_EQ(BuildCredsRequest(absl::MakeSpan(small)), 0u);
}

TEST(ControlMessageTest, BuildsRights) {
  const int fds[] = {7, 8, 9};
  std::vector<uint8_t> control(64, 0xaa);
  ASSERT_EQ(BuildRights(absl::MakeSpan(control), fds), RightsControlSize(3));
  TestCmsghdr header;
  std::memcpy(&header, control.data(), sizeof(header));
  EXPECT_EQ(header.cmsg_len, abi::CmsgLen(12));
  EXPECT_EQ(header.cmsg_level, abi::kSolSocket);
  EXPECT_EQ(header.cmsg_type, abi::kScmRights);
  int32_t carried[3];
  std::memcpy(carried, control.data() + abi::kCmsgDataOffset, sizeof(carried));
  EXPECT_THAT(carried, ElementsAre(7, 8, 9));
  EXPECT_EQ(BuildRights(absl::MakeSpan(control), {}), 0u);
  EXPECT_EQ(BuildRights(absl::MakeSpan(control).first(31), fds), 0u);
}

TEST(ControlMessageTest, NoControlDataIsNothing) {
  absl::StatusOr<ParsedControl> parsed = ParseControl({});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->fds.empty());
  EXPECT_FALSE(parsed->sender.has_value());
  const uint8_t short_header[abi::kCmsghdrSize - 1] = {};
  parsed = ParseControl(short_header);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->fds.empty());
}

TEST(ControlMessageTest, TakesTheRightsOfTheFirstMessage) {
  const std::vector<int32_t> fds = TwoFds();
  {
    absl::StatusOr<ParsedControl> parsed =
        ParseControl(ControlBuffer().Rights(fds).span());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ASSERT_EQ(parsed->fds.size(), 2u);
    EXPECT_EQ(parsed->fds[0].get(), fds[0]);
    EXPECT_EQ(parsed->fds[1].get(), fds[1]);
    EXPECT_FALSE(parsed->sender.has_value());
  }
  EXPECT_FALSE(IsOpen(fds[0]));  // owned, so closed with the result
  EXPECT_FALSE(IsOpen(fds[1]));
}

TEST(ControlMessageTest, TakesTheCredentialsOfTheFirstMessage) {
  absl::StatusOr<ParsedControl> parsed =
      ParseControl(ControlBuffer().Creds(SomeCred()).span());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->sender.has_value());
  EXPECT_EQ(parsed->sender->pid, 777);
  EXPECT_EQ(parsed->sender->euid, 1000u);
  EXPECT_EQ(parsed->sender->egid, 100u);
  EXPECT_THAT(parsed->sender->groups, ElementsAre(5u));
  EXPECT_TRUE(parsed->fds.empty());
}

// After a kernel-made SCM_CREDS, a sender can append its own: a forged
// SCM_CREDS, or "descriptors" that are really numbers of OUR descriptors.
TEST(ControlMessageTest, RefusesMessagesAfterTheFirst) {
  TestCmsgcred forged = SomeCred();
  forged.cmcred_euid = 0;
  EXPECT_EQ(ErrnoOf(ParseControl(ControlBuffer().Creds(SomeCred()).Creds(forged).span())
                        .status()),
            EPERM);

  const std::vector<int32_t> ours = TwoFds();
  EXPECT_EQ(
      ErrnoOf(ParseControl(ControlBuffer().Creds(SomeCred()).Rights(ours).span())
                  .status()),
      EPERM);
  EXPECT_TRUE(IsOpen(ours[0])) << "a sender's numbers closed our descriptor";
  EXPECT_TRUE(IsOpen(ours[1]));

  // Descriptors of a real first SCM_RIGHTS are still closed on refusal.
  const std::vector<int32_t> passed = TwoFds();
  EXPECT_EQ(
      ErrnoOf(ParseControl(ControlBuffer().Rights(passed).Creds(forged).span())
                  .status()),
      EPERM);
  EXPECT_FALSE(IsOpen(passed[0]));
  EXPECT_FALSE(IsOpen(passed[1]));
  close(ours[0]);
  close(ours[1]);
}

TEST(ControlMessageTest, RefusesMalformedMessages) {
  const TestCmsgcred cred = SomeCred();
  // A length shorter than a header, or running past the buffer.
  EXPECT_EQ(ErrnoOf(ParseControl(ControlBuffer()
                                     .Add(abi::kSolSocket, abi::kScmCreds, &cred,
                                          sizeof(cred), /*claimed_length=*/8)
                                     .span())
                        .status()),
            EPROTO);
  EXPECT_EQ(ErrnoOf(ParseControl(ControlBuffer()
                                     .Add(abi::kSolSocket, abi::kScmCreds, &cred,
                                          sizeof(cred), /*claimed_length=*/4096)
                                     .span())
                        .status()),
            EPROTO);
  // Credentials cut short.
  EXPECT_EQ(ErrnoOf(ParseControl(ControlBuffer()
                                     .Add(abi::kSolSocket, abi::kScmCreds, &cred, 40)
                                     .span())
                        .status()),
            EPROTO);
  // Another level, or a type we do not take (SCM_TIMESTAMP).
  EXPECT_EQ(ErrnoOf(ParseControl(ControlBuffer().Add(1, abi::kScmCreds, &cred,
                                                     sizeof(cred))
                                     .span())
                        .status()),
            EPROTO);
  const int64_t timestamp[2] = {1, 2};
  EXPECT_EQ(ErrnoOf(ParseControl(ControlBuffer()
                                     .Add(abi::kSolSocket, 2, timestamp,
                                          sizeof(timestamp))
                                     .span())
                        .status()),
            EPROTO);
}

// What BuildCredsRequest() sends, once the kernel has filled it, is what
// ParseControl() accepts.
TEST(ControlMessageTest, RequestRoundTripsOnceFilledIn) {
  std::vector<uint8_t> control(kCredsControlSize);
  ASSERT_EQ(BuildCredsRequest(absl::MakeSpan(control)), kCredsControlSize);
  const TestCmsgcred cred = SomeCred();
  std::memcpy(control.data() + abi::kCmsgDataOffset, &cred, sizeof(cred));
  absl::StatusOr<ParsedControl> parsed = ParseControl(control);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->sender.has_value());
  EXPECT_EQ(parsed->sender->pid, 777);
}

}  // namespace
}  // namespace sysv::dragonfly_backend

// Credentials on Linux: the xucred and cmsgcred decoders on synthetic
// structs in DragonFly's layout, and PeerCredentials() over real sockets
// through the SO_PEERCRED double of peer_cred_sys.h.
#include "backends/dragonfly/peer_credentials.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/dragonfly_test_structs.h"
#include "core/ipc/credentials.h"
#include "core/ipc/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::Credentials;
using ::sysv::core::ErrnoOf;
using testing::TestCmsgcred;
using testing::TestXucred;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

template <typename T>
absl::Span<const uint8_t> Bytes(const T& value) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(&value),
                             sizeof(value));
}

TestXucred Xucred(uint32_t uid, std::vector<uint32_t> groups) {
  TestXucred xucred;
  std::memset(&xucred, 0, sizeof(xucred));
  xucred.cr_version = abi::kXucredVersion;
  xucred.cr_uid = uid;
  xucred.cr_ngroups = static_cast<int16_t>(groups.size());
  std::copy(groups.begin(), groups.end(), xucred.cr_groups);
  return xucred;
}

TestCmsgcred Cmsgcred(int32_t pid, uint32_t uid, uint32_t euid, uint32_t gid,
                      std::vector<uint32_t> groups) {
  TestCmsgcred cred;
  std::memset(&cred, 0, sizeof(cred));
  cred.cmcred_pid = pid;
  cred.cmcred_uid = uid;
  cred.cmcred_euid = euid;
  cred.cmcred_gid = gid;
  cred.cmcred_ngroups = static_cast<int16_t>(groups.size());
  std::copy(groups.begin(), groups.end(), cred.cmcred_groups);
  return cred;
}

TEST(CredentialsFromXucredTest, FirstGroupIsTheEffectiveGid) {
  absl::StatusOr<Credentials> creds =
      CredentialsFromXucred(Bytes(Xucred(1000, {100, 20, 30})));
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->pid, 0);  // xucred has none
  EXPECT_EQ(creds->uid, 1000u);
  EXPECT_EQ(creds->gid, 100u);
  EXPECT_THAT(creds->groups, ElementsAre(20u, 30u));
  EXPECT_FALSE(creds->cap_ipc_owner);
  EXPECT_TRUE(creds->InGroup(100));
  EXPECT_TRUE(creds->InGroup(30));
  EXPECT_FALSE(creds->InGroup(40));
}

TEST(CredentialsFromXucredTest, RootGetsTheCapabilities) {
  absl::StatusOr<Credentials> creds = CredentialsFromXucred(Bytes(Xucred(0, {0})));
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_THAT(creds->groups, IsEmpty());
  EXPECT_TRUE(creds->cap_ipc_owner);
  EXPECT_TRUE(creds->cap_sys_admin);
}

TEST(CredentialsFromXucredTest, FullGroupList) {
  std::vector<uint32_t> groups;
  for (uint32_t g = 1; g <= 16; ++g) groups.push_back(g);
  absl::StatusOr<Credentials> creds = CredentialsFromXucred(Bytes(Xucred(5, groups)));
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->gid, 1u);
  EXPECT_EQ(creds->groups.size(), 15u);
  EXPECT_EQ(creds->groups.back(), 16u);
}

TEST(CredentialsFromXucredTest, RejectsWhatTheKernelWouldNotSay) {
  const TestXucred good = Xucred(1, {1});
  EXPECT_EQ(ErrnoOf(CredentialsFromXucred(Bytes(good).first(sizeof(good) - 1))
                        .status()),
            EPROTO);
  std::vector<uint8_t> longer(sizeof(good) + 8, 0);
  std::memcpy(longer.data(), &good, sizeof(good));
  EXPECT_EQ(ErrnoOf(CredentialsFromXucred(longer).status()), EPROTO);
  TestXucred bad = good;
  bad.cr_version = 1;
  EXPECT_EQ(ErrnoOf(CredentialsFromXucred(Bytes(bad)).status()), EPROTO);
  for (int16_t ngroups : {0, -1, 17}) {
    bad = good;
    bad.cr_ngroups = ngroups;
    EXPECT_EQ(ErrnoOf(CredentialsFromXucred(Bytes(bad)).status()), EPROTO)
        << ngroups;
  }
}

TEST(SenderFromCmsgcredTest, DecodesEveryField) {
  absl::StatusOr<SenderCredentials> sender =
      SenderFromCmsgcred(Bytes(Cmsgcred(4321, 1000, 1001, 100, {101, 7, 8})));
  ASSERT_TRUE(sender.ok()) << sender.status();
  EXPECT_EQ(sender->pid, 4321);
  EXPECT_EQ(sender->uid, 1000u);
  EXPECT_EQ(sender->euid, 1001u);
  EXPECT_EQ(sender->gid, 100u);
  EXPECT_EQ(sender->egid, 101u);
  EXPECT_THAT(sender->groups, ElementsAre(7u, 8u));
}

TEST(SenderFromCmsgcredTest, RejectsWhatTheKernelWouldNotWrite) {
  const TestCmsgcred good = Cmsgcred(1, 1, 1, 1, {1});
  EXPECT_EQ(ErrnoOf(SenderFromCmsgcred(Bytes(good).first(sizeof(good) - 1))
                        .status()),
            EPROTO);
  for (int16_t ngroups : {0, -3, 17}) {
    TestCmsgcred bad = good;
    bad.cmcred_ngroups = ngroups;
    EXPECT_EQ(ErrnoOf(SenderFromCmsgcred(Bytes(bad)).status()), EPROTO)
        << ngroups;
  }
  for (int32_t pid : {0, -1}) {
    TestCmsgcred bad = good;
    bad.cmcred_pid = pid;
    EXPECT_EQ(ErrnoOf(SenderFromCmsgcred(Bytes(bad)).status()), EPROTO) << pid;
  }
}

TEST(WithSenderPidTest, TakesThePidOfTheSameIdentity) {
  const Credentials peer = Credentials::ForIds(0, 1000, 100, {7});
  SenderCredentials sender;
  sender.pid = 99;
  sender.euid = 1000;
  absl::StatusOr<Credentials> combined = WithSenderPid(peer, sender);
  ASSERT_TRUE(combined.ok()) << combined.status();
  EXPECT_EQ(combined->pid, 99);
  EXPECT_EQ(combined->uid, 1000u);
  EXPECT_EQ(combined->gid, 100u);
  EXPECT_THAT(combined->groups, ElementsAre(7u));
}

TEST(WithSenderPidTest, RefusesAnotherIdentity) {
  const Credentials peer = Credentials::ForIds(0, 1000, 100, {});
  SenderCredentials sender;
  sender.pid = 99;
  sender.uid = 1000;  // the real uid matching is not enough
  sender.euid = 0;
  EXPECT_EQ(ErrnoOf(WithSenderPid(peer, sender).status()), EPERM);
}

std::vector<uint32_t> OwnGroups() {
  std::vector<gid_t> groups(getgroups(0, nullptr));
  groups.resize(getgroups(static_cast<int>(groups.size()), groups.data()));
  return std::vector<uint32_t>(groups.begin(), groups.end());
}

// Through the double (a socketpair is fine on Linux; see peer_cred_sys.h).
TEST(PeerCredentialsTest, ConnectedSocketGivesOurIds) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd a(fds[0]);
  UniqueFd b(fds[1]);
  absl::StatusOr<Credentials> creds = PeerCredentials(a.get());
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->pid, 0);
  EXPECT_EQ(creds->uid, geteuid());
  EXPECT_EQ(creds->gid, getegid());
  const std::vector<uint32_t> own = OwnGroups();
  for (uint32_t group : creds->groups) {
    EXPECT_NE(std::find(own.begin(), own.end(), group), own.end()) << group;
  }
}

TEST(PeerCredentialsTest, Errors) {
  UniqueFd unconnected(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(unconnected.valid());
  EXPECT_EQ(ErrnoOf(PeerCredentials(unconnected.get()).status()), ENOTCONN);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  EXPECT_EQ(ErrnoOf(PeerCredentials(read_end.get()).status()), ENOTSOCK);
  EXPECT_EQ(ErrnoOf(PeerCredentials(-1).status()), EBADF);
}

TEST(CurrentCredentialsTest, AreOurs) {
  absl::StatusOr<Credentials> creds = CurrentCredentials();
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->pid, getpid());
  EXPECT_EQ(creds->uid, geteuid());
  EXPECT_EQ(creds->gid, getegid());
  EXPECT_EQ(creds->groups, OwnGroups());
}

}  // namespace
}  // namespace sysv::dragonfly_backend

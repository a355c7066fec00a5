// Tests of the shared permission rules, against ipc/util.c:ipcperms(),
// ipcctl_obtain_check() and ipc_update_perm().
#include "core/ipc/ipc_perm.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "core/ipc/credentials.h"
#include "core/ipc/ipc_constants.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

constexpr uint32_t kOwnerUid = 1000;
constexpr uint32_t kCreatorUid = 1001;
constexpr uint32_t kOwnerGid = 100;
constexpr uint32_t kCreatorGid = 101;
constexpr uint32_t kStrangerUid = 2000;
constexpr uint32_t kStrangerGid = 200;

IpcPerm PermWithMode(uint32_t mode) {
  IpcPerm perm;
  perm.key = 0x1234;
  perm.uid = kOwnerUid;
  perm.gid = kOwnerGid;
  perm.cuid = kCreatorUid;
  perm.cgid = kCreatorGid;
  perm.mode = mode;
  return perm;
}

Credentials User(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {}) {
  return Credentials::ForIds(/*pid=*/42, uid, gid, std::move(groups));
}

TEST(CredentialsTest, RootHasEveryCapabilityAndOthersNone) {
  const Credentials root = User(0, 0);
  EXPECT_TRUE(root.cap_ipc_owner);
  EXPECT_TRUE(root.cap_sys_admin);
  EXPECT_TRUE(root.cap_ipc_lock);
  const Credentials user = User(kOwnerUid, kOwnerGid, {5, 6});
  EXPECT_FALSE(user.cap_ipc_owner);
  EXPECT_FALSE(user.cap_sys_admin);
  EXPECT_FALSE(user.cap_ipc_lock);
  EXPECT_EQ(user.pid, 42);
  EXPECT_EQ(user.groups, (std::vector<uint32_t>{5, 6}));
}

TEST(CredentialsTest, InGroupCoversEffectiveAndSupplementaryGroups) {
  const Credentials user = User(kOwnerUid, 10, {20, 30});
  EXPECT_TRUE(user.InGroup(10));
  EXPECT_TRUE(user.InGroup(20));
  EXPECT_TRUE(user.InGroup(30));
  EXPECT_FALSE(user.InGroup(40));
}

TEST(CredentialsTest, InitialNamespaceMapsEveryIdButMinusOne) {
  const Credentials user = User(kOwnerUid, kOwnerGid);
  EXPECT_TRUE(user.MapsUid(0));
  EXPECT_TRUE(user.MapsUid(123456));
  EXPECT_TRUE(user.MapsGid(UINT32_MAX - 1));
  EXPECT_FALSE(user.MapsUid(UINT32_MAX));
  EXPECT_FALSE(user.MapsGid(UINT32_MAX));
}

TEST(CredentialsTest, UserNamespaceMapsOnlyTheIdsInItsRanges) {
  Credentials user = User(kOwnerUid, kOwnerGid);
  user.uid_map = {{0, 1}, {100000, 65536}};
  user.gid_map = {{500, 10}};
  EXPECT_TRUE(user.MapsUid(0));
  EXPECT_FALSE(user.MapsUid(1));
  EXPECT_FALSE(user.MapsUid(99999));
  EXPECT_TRUE(user.MapsUid(100000));
  EXPECT_TRUE(user.MapsUid(165535));
  EXPECT_FALSE(user.MapsUid(165536));
  EXPECT_TRUE(user.MapsGid(509));
  EXPECT_FALSE(user.MapsGid(510));
  EXPECT_FALSE(user.MapsGid(0));
  // (uid_t)-1 stays invalid even inside a range.
  user.uid_map = {{UINT32_MAX - 5, 6}};
  EXPECT_TRUE(user.MapsUid(UINT32_MAX - 1));
  EXPECT_FALSE(user.MapsUid(UINT32_MAX));
  // An empty range maps nothing.
  user.gid_map = {{700, 0}};
  EXPECT_FALSE(user.MapsGid(700));
}

TEST(IpcPermTest, OwnerClassAppliesToTheOwnerUid) {
  const IpcPerm perm = PermWithMode(0600);
  const Credentials owner = User(kOwnerUid, kStrangerGid);
  EXPECT_TRUE(HasIpcPermission(perm, owner, kAccessRead));
  EXPECT_TRUE(HasIpcPermission(perm, owner, kAccessWrite));
  EXPECT_TRUE(HasIpcPermission(perm, owner, kAccessRead | kAccessWrite));
}

TEST(IpcPermTest, OwnerClassAppliesToTheCreatorEvenWhenTheOwnerDiffers) {
  const IpcPerm perm = PermWithMode(0400);
  const Credentials creator = User(kCreatorUid, kStrangerGid);
  EXPECT_TRUE(HasIpcPermission(perm, creator, kAccessRead));
  EXPECT_FALSE(HasIpcPermission(perm, creator, kAccessWrite));
}

TEST(IpcPermTest, OwnerClassExcludesGroupAndOtherBits) {
  // The owner class applies alone: an owner who is also in the group gets
  // nothing from the group or other bits.
  const IpcPerm perm = PermWithMode(0066);
  const Credentials owner = User(kOwnerUid, kOwnerGid);
  EXPECT_FALSE(HasIpcPermission(perm, owner, kAccessRead));
  EXPECT_FALSE(HasIpcPermission(perm, owner, kAccessWrite));
}

TEST(IpcPermTest, GroupClassAppliesWhenOwnerGroupIsTheEffectiveGid) {
  const IpcPerm perm = PermWithMode(0040);
  const Credentials member = User(kStrangerUid, kOwnerGid);
  EXPECT_TRUE(HasIpcPermission(perm, member, kAccessRead));
  EXPECT_FALSE(HasIpcPermission(perm, member, kAccessWrite));
}

TEST(IpcPermTest, GroupClassAppliesWhenCreatorGroupIsSupplementary) {
  const IpcPerm perm = PermWithMode(0020);
  const Credentials member = User(kStrangerUid, kStrangerGid, {7, kCreatorGid});
  EXPECT_TRUE(HasIpcPermission(perm, member, kAccessWrite));
  EXPECT_FALSE(HasIpcPermission(perm, member, kAccessRead));
}

TEST(IpcPermTest, GroupClassExcludesOtherBits) {
  const IpcPerm perm = PermWithMode(0006);
  const Credentials member = User(kStrangerUid, kOwnerGid);
  EXPECT_FALSE(HasIpcPermission(perm, member, kAccessRead));
}

TEST(IpcPermTest, OtherClassAppliesToStrangers) {
  const Credentials stranger = User(kStrangerUid, kStrangerGid, {9});
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0004), stranger, kAccessRead));
  EXPECT_FALSE(HasIpcPermission(PermWithMode(0004), stranger, kAccessWrite));
  EXPECT_FALSE(HasIpcPermission(PermWithMode(0660), stranger, kAccessRead));
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0006), stranger, kAccessRead | kAccessWrite));
}

TEST(IpcPermTest, CapIpcOwnerOverridesARefusal) {
  const IpcPerm perm = PermWithMode(0000);
  Credentials stranger = User(kStrangerUid, kStrangerGid);
  EXPECT_FALSE(HasIpcPermission(perm, stranger, kAccessRead));
  stranger.cap_ipc_owner = true;
  EXPECT_TRUE(HasIpcPermission(perm, stranger, kAccessRead | kAccessWrite | 0100));
  EXPECT_TRUE(HasIpcPermission(perm, User(0, 0), kAccessRead | kAccessWrite));
}

TEST(IpcPermTest, CapSysAdminAloneDoesNotBypassPermissions) {
  Credentials admin = User(kStrangerUid, kStrangerGid);
  admin.cap_sys_admin = true;
  EXPECT_FALSE(HasIpcPermission(PermWithMode(0600), admin, kAccessRead));
}

TEST(IpcPermTest, ZeroFlagRequestsNothing) {
  const Credentials stranger = User(kStrangerUid, kStrangerGid);
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0000), stranger, 0));
}

TEST(IpcPermTest, GetFlagsRequestTheirPermissionBits) {
  // A *get call passes its flags: IPC_CREAT|0600 asks for read and write.
  const Credentials owner = User(kOwnerUid, kStrangerGid);
  EXPECT_FALSE(HasIpcPermission(PermWithMode(0400), owner, kIpcCreat | 0600));
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0400), owner, kIpcCreat | 0400));
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0600), owner, kIpcCreat | 0600));
}

TEST(IpcPermTest, GetFlagBitsOfAnyClassRequestThatAccess) {
  // requested_mode = (flag >> 6) | (flag >> 3) | flag: a group or other bit in
  // the flags requests the same access as the owner bit.
  const Credentials owner = User(kOwnerUid, kStrangerGid);
  EXPECT_FALSE(HasIpcPermission(PermWithMode(0200), owner, 0004));
  EXPECT_FALSE(HasIpcPermission(PermWithMode(0200), owner, 0040));
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0400), owner, 0044));
}

TEST(IpcPermTest, CreatExclAndNowaitRequestNothing) {
  const Credentials stranger = User(kStrangerUid, kStrangerGid);
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0000), stranger, kIpcCreat | kIpcExcl | kIpcNowait));
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0000), stranger, kShmHugetlb | kShmNoreserve));
}

TEST(IpcPermTest, ExecuteBitIsCheckedLikeTheOthers) {
  const Credentials owner = User(kOwnerUid, kStrangerGid);
  EXPECT_FALSE(HasIpcPermission(PermWithMode(0600), owner, 0100));
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0700), owner, 0100));
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0500), owner, kAccessRead | 0100));
  const Credentials stranger = User(kStrangerUid, kStrangerGid);
  EXPECT_TRUE(HasIpcPermission(PermWithMode(0001), stranger, 0100));
  EXPECT_FALSE(HasIpcPermission(PermWithMode(0700), stranger, 0100));
}

TEST(IpcPermTest, NonPermissionModeBitsGrantNothing) {
  // SHM_DEST and SHM_LOCKED live in the same mode word.
  const Credentials stranger = User(kStrangerUid, kStrangerGid);
  EXPECT_FALSE(HasIpcPermission(PermWithMode(kShmDest | kShmLocked), stranger, kAccessRead));
  EXPECT_TRUE(HasIpcPermission(PermWithMode(kShmDest | 0004), stranger, kAccessRead));
}

TEST(IpcPermTest, IsOwnerOrCreatorAcceptsOwnerCreatorAndSysAdmin) {
  const IpcPerm perm = PermWithMode(0);
  EXPECT_TRUE(IsOwnerOrCreator(perm, User(kOwnerUid, kStrangerGid)));
  EXPECT_TRUE(IsOwnerOrCreator(perm, User(kCreatorUid, kStrangerGid)));
  EXPECT_FALSE(IsOwnerOrCreator(perm, User(kStrangerUid, kOwnerGid)));
  Credentials admin = User(kStrangerUid, kStrangerGid);
  admin.cap_sys_admin = true;
  EXPECT_TRUE(IsOwnerOrCreator(perm, admin));
  EXPECT_TRUE(IsOwnerOrCreator(perm, User(0, 0)));
}

TEST(IpcPermTest, IsOwnerOrCreatorIgnoresCapIpcOwner) {
  Credentials stranger = User(kStrangerUid, kStrangerGid);
  stranger.cap_ipc_owner = true;
  EXPECT_FALSE(IsOwnerOrCreator(PermWithMode(0777), stranger));
}

TEST(IpcPermTest, UpdateIpcPermSetsOwnerAndPermissionBits) {
  IpcPerm perm = PermWithMode(0600);
  UpdateIpcPerm(perm, 3000, 300, 0644);
  EXPECT_EQ(perm.uid, 3000u);
  EXPECT_EQ(perm.gid, 300u);
  EXPECT_EQ(perm.mode, 0644u);
  // The creator and the key never change.
  EXPECT_EQ(perm.cuid, kCreatorUid);
  EXPECT_EQ(perm.cgid, kCreatorGid);
  EXPECT_EQ(perm.key, 0x1234);
}

TEST(IpcPermTest, UpdateIpcPermKeepsNonPermissionBits) {
  IpcPerm perm = PermWithMode(kShmDest | 0600);
  UpdateIpcPerm(perm, kOwnerUid, kOwnerGid, 0440);
  EXPECT_EQ(perm.mode, kShmDest | 0440u);
}

TEST(IpcPermTest, UpdateIpcPermTakesOnlyPermissionBitsFromTheNewMode) {
  IpcPerm perm = PermWithMode(0600);
  UpdateIpcPerm(perm, kOwnerUid, kOwnerGid, kShmDest | kShmLocked | 07777);
  EXPECT_EQ(perm.mode, 0777u);
}

}  // namespace
}  // namespace sysv::core

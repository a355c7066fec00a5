// Per-user quotas over the generic registry: what is charged to whom, when
// it is released, and that a restarted daemon counts the same.
#include "core/ipc/user_quota.h"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/ipc/credentials.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/ipc_registry.h"
#include "core/ipc/object_table.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

constexpr uint32_t kCapacity = 32;

// Two tables of one namespace (segments and queues) sharing one ledger, as
// the daemon's NamespaceState sets them up.
class UserQuotaTest : public ::testing::Test {
 protected:
  UserQuotaTest() : shm_memory_(ObjectTableSize(kCapacity) / 8), msg_memory_(ObjectTableSize(kCapacity) / 8) {
    limits_.user.objects = 3;
    limits_.user.bytes = 10000;
    limits_.msg.msgmnb = 2000;
    auto shm = ObjectTable::Format(shm_memory_.data(), ObjectTableSize(kCapacity), IpcKind::kShm, kCapacity);
    auto msg = ObjectTable::Format(msg_memory_.data(), ObjectTableSize(kCapacity), IpcKind::kMsg, kCapacity);
    EXPECT_TRUE(shm.ok() && msg.ok());
    Start(*shm, *msg);
  }

  void Start(ObjectTable shm, ObjectTable msg) {
    shm_.reset();
    msg_.reset();
    quota_.emplace(limits_);
    shm_.emplace(shm, kCapacity, &*quota_);
    msg_.emplace(msg, kCapacity, &*quota_);
  }

  // The daemon restarts: new registries and a new ledger over the same
  // tables.
  void Restart() {
    auto shm = ObjectTable::Open(shm_memory_.data(), ObjectTableSize(kCapacity), IpcKind::kShm);
    auto msg = ObjectTable::Open(msg_memory_.data(), ObjectTableSize(kCapacity), IpcKind::kMsg);
    ASSERT_TRUE(shm.ok() && msg.ok());
    Start(*shm, *msg);
  }

  // A new segment of `size` bytes (the size is what the create hook of
  // ShmRegistry records).
  absl::StatusOr<int32_t> NewSegment(const Credentials& who, uint64_t size) {
    OpContext ctx{who, 0};
    ctx.new_object_bytes = size;
    IpcRegistry::GetHooks hooks;
    hooks.create = [size](int32_t, uint32_t, ObjectRecord& record) {
      record.size = size;
      return absl::OkStatus();
    };
    return shm_->Get(kIpcPrivate, 0600, ctx, hooks);
  }
  // A new queue: msg_qbytes starts at MSGMNB.
  absl::StatusOr<int32_t> NewQueue(const Credentials& who) {
    IpcRegistry::GetHooks hooks;
    hooks.create = [this](int32_t, uint32_t, ObjectRecord& record) {
      record.size = static_cast<uint64_t>(limits_.msg.msgmnb);
      return absl::OkStatus();
    };
    return msg_->Get(kIpcPrivate, 0600, OpContext{who, 0}, hooks);
  }

  NamespaceLimits limits_;
  std::vector<uint64_t> shm_memory_;
  std::vector<uint64_t> msg_memory_;
  std::optional<UserQuota> quota_;
  std::optional<IpcRegistry> shm_;
  std::optional<IpcRegistry> msg_;
  const Credentials alice_ = Credentials::ForIds(10, 2001, 3001, {});
  const Credentials bob_ = Credentials::ForIds(11, 2002, 3002, {});
};

TEST_F(UserQuotaTest, ObjectsOfAllKindsCountTogetherAndOtherUsersAreUnaffected) {
  ASSERT_TRUE(NewSegment(alice_, 100).ok());
  ASSERT_TRUE(NewQueue(alice_).ok());
  ASSERT_TRUE(NewSegment(alice_, 100).ok());
  EXPECT_EQ(quota_->UsageOf(2001).objects, 3);
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 2200u);
  EXPECT_EQ(ErrnoOf(NewQueue(alice_).status()), ENOSPC);
  EXPECT_EQ(ErrnoOf(NewSegment(alice_, 1).status()), ENOSPC);
  EXPECT_TRUE(NewQueue(bob_).ok());
  EXPECT_TRUE(NewSegment(bob_, 100).ok());
  EXPECT_EQ(quota_->UsageOf(2002).objects, 2);
}

TEST_F(UserQuotaTest, BytesOfSegmentsAndQueuesCountTogether) {
  ASSERT_TRUE(NewSegment(alice_, 7000).ok());
  ASSERT_TRUE(NewQueue(alice_).ok());  // 9000
  EXPECT_EQ(ErrnoOf(NewQueue(alice_).status()), ENOSPC);
  EXPECT_EQ(ErrnoOf(NewSegment(alice_, 1001).status()), ENOSPC);
  EXPECT_TRUE(NewSegment(alice_, 1000).ok());  // exactly the quota
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 10000u);
}

// An attach ledger's storage (no object) counts with its user's bytes, and
// only his; over the quota it is refused with ENOMEM, unless forced (a live
// process re-adopted).
TEST_F(UserQuotaTest, StorageCountsWithTheBytesOfItsUserOnly) {
  ASSERT_TRUE(quota_->ChargeStorage(2001, 4096).ok());
  ASSERT_TRUE(NewSegment(alice_, 5904).ok());  // 10000, the quota
  EXPECT_EQ(ErrnoOf(quota_->ChargeStorage(2001, 1)), ENOMEM);
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 10000u);
  EXPECT_EQ(quota_->UsageOf(2001).objects, 1);
  EXPECT_TRUE(quota_->ChargeStorage(2002, 4096).ok());
  EXPECT_EQ(quota_->UsageOf(2002).bytes, 4096u);
  EXPECT_TRUE(quota_->ChargeStorage(2001, 1, /*even_over=*/true).ok());
  quota_->ReleaseStorage(2001, 4097);
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 5904u);
  quota_->ReleaseStorage(2002, 4096);
  EXPECT_EQ(quota_->UsageOf(2002).bytes, 0u);
}

TEST_F(UserQuotaTest, RemovalReleasesTheCharge) {
  absl::StatusOr<int32_t> a = NewSegment(alice_, 100);
  absl::StatusOr<int32_t> b = NewQueue(alice_);
  absl::StatusOr<int32_t> c = NewQueue(alice_);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_EQ(ErrnoOf(NewSegment(alice_, 100).status()), ENOSPC);
  msg_->Remove(IpcIdIndex(*b));
  EXPECT_EQ(quota_->UsageOf(2001).objects, 2);
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 2100u);
  EXPECT_TRUE(NewSegment(alice_, 100).ok());
  shm_->Remove(IpcIdIndex(*a));
  msg_->Remove(IpcIdIndex(*c));
  EXPECT_EQ(quota_->UsageOf(2001).objects, 1);
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 100u);
}

// IPC_SET gives the object to bob: alice, its creator, still pays, and bob
// pays nothing (he cannot be charged for what he did not make).
TEST_F(UserQuotaTest, TheChargeFollowsTheCreatorNotTheOwner) {
  absl::StatusOr<int32_t> id = NewQueue(alice_);
  ASSERT_TRUE(id.ok());
  absl::StatusOr<ObjectRecord> record = msg_->FindById(*id);
  ASSERT_TRUE(record.ok());
  record->perm.uid = 2002;
  msg_->Update(IpcIdIndex(*id), *record);
  EXPECT_EQ(quota_->UsageOf(2001).objects, 1);
  EXPECT_EQ(quota_->UsageOf(2002).objects, 0);
  msg_->Remove(IpcIdIndex(*id));
  EXPECT_EQ(quota_->UsageOf(2001).objects, 0);
  EXPECT_EQ(quota_->UsageOf(2002).objects, 0);
}

// IPC_SET of msg_qbytes changes what the queue is charged.
TEST_F(UserQuotaTest, QbytesChangesMoveTheCharge) {
  absl::StatusOr<int32_t> id = NewQueue(alice_);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(quota_->CheckGrowth(2001, 8000).ok());
  EXPECT_EQ(ErrnoOf(quota_->CheckGrowth(2001, 8001)), EPERM);
  absl::StatusOr<ObjectRecord> record = msg_->FindById(*id);
  ASSERT_TRUE(record.ok());
  record->size = 9000;
  msg_->Update(IpcIdIndex(*id), *record);
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 9000u);
  record->size = 500;
  msg_->Update(IpcIdIndex(*id), *record);
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 500u);
}

TEST_F(UserQuotaTest, ARestartedDaemonCountsTheSame) {
  ASSERT_TRUE(NewSegment(alice_, 300).ok());
  ASSERT_TRUE(NewQueue(alice_).ok());
  ASSERT_TRUE(NewQueue(bob_).ok());
  Restart();
  EXPECT_EQ(quota_->UsageOf(2001).objects, 2);
  EXPECT_EQ(quota_->UsageOf(2001).bytes, 2300u);
  EXPECT_EQ(quota_->UsageOf(2002).objects, 1);
  ASSERT_TRUE(NewQueue(alice_).ok());
  EXPECT_EQ(ErrnoOf(NewQueue(alice_).status()), ENOSPC);
}

TEST(UserQuotaLimitsTest, ZeroIsUnlimited) {
  NamespaceLimits limits;  // the defaults
  UserQuota quota(limits);
  ObjectRecord record;
  record.state = EntryState::kLive;
  record.perm.cuid = 5;
  record.size = UINT64_MAX / 2;
  for (int i = 0; i < 100000; ++i) quota.Charge(IpcKind::kShm, record);
  EXPECT_TRUE(quota.CheckNew(5, UINT64_MAX).ok());
  EXPECT_TRUE(quota.CheckGrowth(5, UINT64_MAX).ok());
}

TEST(UserQuotaLimitsTest, ByteSumsThatOverflowAreRefused) {
  NamespaceLimits limits;
  limits.user.bytes = UINT64_MAX;
  UserQuota quota(limits);
  ObjectRecord record;
  record.perm.cuid = 5;
  record.size = UINT64_MAX - 10;
  quota.Charge(IpcKind::kMsg, record);
  EXPECT_EQ(ErrnoOf(quota.CheckNew(5, 20)), ENOSPC);
  EXPECT_TRUE(quota.CheckNew(5, 10).ok());
}

TEST(UserQuotaLimitsTest, SemaphoreSetsChargeTheirRegion) {
  NamespaceLimits limits;
  UserQuota quota(limits);
  ObjectRecord record;
  record.size = 250;  // nsems
  EXPECT_EQ(quota.BytesOf(IpcKind::kSem, record), 0u);  // until the daemon says what a region takes
  quota.set_sem_region_bytes([](uint64_t nsems) { return nsems * 100; });
  EXPECT_EQ(quota.BytesOf(IpcKind::kSem, record), 25000u);
  EXPECT_EQ(quota.BytesOfNew(IpcKind::kSem, 3), 300u);
  EXPECT_EQ(quota.BytesOf(IpcKind::kShm, record), 250u);
}

}  // namespace
}  // namespace sysv::core

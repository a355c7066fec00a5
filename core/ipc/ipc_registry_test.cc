// Tests of the generic get algorithm and the key/id tables, against
// ipc/util.c: ipcget_new(), ipcget_public(), ipc_addid(), ipc_idr_alloc(),
// ipc_obtain_object_check(), ipc_rmid() and ipc_set_key_private().
#include "core/ipc/ipc_registry.h"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/ipc/credentials.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/object_table.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

constexpr int64_t kNowNs = 1'700'000'000'123'456'789;
constexpr Key kKeyA = 0x1111;
constexpr Key kKeyB = 0x2222;
constexpr Key kKeyC = 0x3333;

// Zeroed, 8-byte aligned memory standing in for the table's region file.
class Region {
 public:
  explicit Region(size_t bytes) : words_((bytes + 7) / 8, 0), bytes_(bytes) {}
  void* base() { return words_.data(); }
  size_t size() const { return bytes_; }

 private:
  std::vector<uint64_t> words_;
  size_t bytes_;
};

class IpcRegistryTest : public ::testing::Test {
 protected:
  IpcRegistryTest() { Reset(/*capacity=*/16, /*max_objects=*/16); }

  // A fresh namespace with a table of `capacity` entries.
  void Reset(uint32_t capacity, int32_t max_objects) {
    registry_.reset();
    region_.emplace(ObjectTableSize(capacity));
    absl::StatusOr<ObjectTable> table =
        ObjectTable::Format(region_->base(), region_->size(), IpcKind::kShm, capacity);
    ASSERT_TRUE(table.ok()) << table.status();
    registry_.emplace(*table, max_objects);
  }

  // The daemon restarts: a new registry over the same table memory.
  void Restart() {
    const int32_t max_objects = registry_->max_objects();
    registry_.reset();
    absl::StatusOr<ObjectTable> table =
        ObjectTable::Open(region_->base(), region_->size(), IpcKind::kShm);
    ASSERT_TRUE(table.ok()) << table.status();
    registry_.emplace(*table, max_objects);
  }

  IpcRegistry& registry() { return *registry_; }

  absl::StatusOr<int32_t> Get(Key key, int flags, const Credentials& creds,
                              const IpcRegistry::GetHooks& hooks = {}) {
    return registry_->Get(key, flags, OpContext{creds, kNowNs}, hooks);
  }
  absl::StatusOr<int32_t> Get(Key key, int flags) { return Get(key, flags, owner_); }

  // Creates and removes one private object: one step of the id cycle.
  int32_t CreateAndRemove() {
    absl::StatusOr<int32_t> id = Get(kIpcPrivate, 0600);
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) return -1;
    registry_->Remove(IpcIdIndex(*id));
    return *id;
  }

  const Credentials owner_ = Credentials::ForIds(/*pid=*/100, /*uid=*/1000, /*gid=*/100, {});
  const Credentials stranger_ = Credentials::ForIds(/*pid=*/200, /*uid=*/2000, /*gid=*/200, {});

 private:
  std::optional<Region> region_;
  std::optional<IpcRegistry> registry_;
};

TEST_F(IpcRegistryTest, FreshNamespaceHandsOutIdsZeroOneTwo) {
  EXPECT_EQ(*Get(kIpcPrivate, 0600), 0);
  EXPECT_EQ(*Get(kKeyA, kIpcCreat | 0600), 1);
  EXPECT_EQ(*Get(kKeyB, kIpcCreat | 0600), 2);
  EXPECT_EQ(registry().in_use(), 3);
}

TEST_F(IpcRegistryTest, PrivateKeyAlwaysCreatesANewObject) {
  // ipcget_new(): no IPC_CREAT needed, and IPC_EXCL changes nothing.
  absl::StatusOr<int32_t> first = Get(kIpcPrivate, 0600);
  absl::StatusOr<int32_t> second = Get(kIpcPrivate, 0);
  absl::StatusOr<int32_t> third = Get(kIpcPrivate, kIpcCreat | kIpcExcl | 0600);
  ASSERT_TRUE(first.ok() && second.ok() && third.ok());
  EXPECT_NE(*first, *second);
  EXPECT_NE(*second, *third);
  EXPECT_EQ(registry().in_use(), 3);
  EXPECT_EQ(registry().FindById(*second)->perm.key, kIpcPrivate);
}

TEST_F(IpcRegistryTest, MissingKeyWithoutCreatFailsWithEnoent) {
  absl::StatusOr<int32_t> id = Get(kKeyA, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOENT);
  EXPECT_EQ(registry().in_use(), 0);
}

TEST_F(IpcRegistryTest, EnoentPrecedesTheNewObjectChecks) {
  IpcRegistry::GetHooks hooks;
  hooks.check_new = [] { return ErrnoStatus(EINVAL, "size"); };
  absl::StatusOr<int32_t> id = Get(kKeyA, 0, owner_, hooks);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOENT);
}

TEST_F(IpcRegistryTest, CreatedRecordCarriesTheCallerAndPermissionBits) {
  absl::StatusOr<int32_t> id = Get(kKeyA, kIpcCreat | kIpcExcl | kShmHugetlb | 0640);
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<ObjectRecord> record = registry().FindById(*id);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->state, EntryState::kLive);
  EXPECT_EQ(record->perm.key, kKeyA);
  EXPECT_EQ(record->perm.uid, 1000u);
  EXPECT_EQ(record->perm.cuid, 1000u);
  EXPECT_EQ(record->perm.gid, 100u);
  EXPECT_EQ(record->perm.cgid, 100u);
  EXPECT_EQ(record->perm.mode, 0640u);
  EXPECT_EQ(record->perm.seq, IpcIdSeq(*id));
  EXPECT_EQ(record->cpid, 100);
  EXPECT_EQ(record->ctime, 1'700'000'000);
}

TEST_F(IpcRegistryTest, ExistingKeyReturnsTheSameIdWithoutCreating) {
  const int32_t id = *Get(kKeyA, kIpcCreat | 0600);
  int creates = 0;
  IpcRegistry::GetHooks hooks;
  hooks.check_new = [&] {
    ++creates;
    return absl::OkStatus();
  };
  hooks.create = [&](int32_t, uint32_t, ObjectRecord&) {
    ++creates;
    return absl::OkStatus();
  };
  EXPECT_EQ(*Get(kKeyA, kIpcCreat | 0600, owner_, hooks), id);
  EXPECT_EQ(*Get(kKeyA, 0, owner_, hooks), id);
  EXPECT_EQ(creates, 0);
  EXPECT_EQ(registry().in_use(), 1);
}

TEST_F(IpcRegistryTest, CreatExclOnAnExistingKeyFailsWithEexist) {
  ASSERT_TRUE(Get(kKeyA, kIpcCreat | 0600).ok());
  absl::StatusOr<int32_t> id = Get(kKeyA, kIpcCreat | kIpcExcl | 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EEXIST);
}

TEST_F(IpcRegistryTest, ExclWithoutCreatIsIgnoredForAnExistingKey) {
  const int32_t id = *Get(kKeyA, kIpcCreat | 0600);
  EXPECT_EQ(*Get(kKeyA, kIpcExcl | 0600), id);
}

TEST_F(IpcRegistryTest, EexistPrecedesMoreChecksAndEacces) {
  ASSERT_TRUE(Get(kKeyA, kIpcCreat | 0600).ok());
  IpcRegistry::GetHooks hooks;
  hooks.more_checks = [](const ObjectRecord&) { return ErrnoStatus(EINVAL, "too small"); };
  absl::StatusOr<int32_t> id = Get(kKeyA, kIpcCreat | kIpcExcl | 0600, stranger_, hooks);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EEXIST);
}

TEST_F(IpcRegistryTest, MoreChecksErrorPrecedesEacces) {
  ASSERT_TRUE(Get(kKeyA, kIpcCreat | 0600).ok());
  IpcRegistry::GetHooks hooks;
  std::optional<ObjectRecord> seen;
  hooks.more_checks = [&](const ObjectRecord& record) {
    seen = record;
    return ErrnoStatus(EINVAL, "too small");
  };
  absl::StatusOr<int32_t> id = Get(kKeyA, 0600, stranger_, hooks);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EINVAL);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->perm.key, kKeyA);
}

TEST_F(IpcRegistryTest, EaccesWhenTheFlagsPermissionBitsAreNotGranted) {
  ASSERT_TRUE(Get(kKeyA, kIpcCreat | 0640).ok());
  absl::StatusOr<int32_t> id = Get(kKeyA, 0600, stranger_);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EACCES);
  id = Get(kKeyA, kIpcCreat | 0400, stranger_);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EACCES);
}

TEST_F(IpcRegistryTest, FlagsWithoutPermissionBitsFindAnyObject) {
  const int32_t id = *Get(kKeyA, kIpcCreat | 0600);
  EXPECT_EQ(*Get(kKeyA, 0, stranger_), id);
}

TEST_F(IpcRegistryTest, GroupMemberGetsTheGroupClass) {
  const int32_t id = *Get(kKeyA, kIpcCreat | 0640);
  const Credentials member = Credentials::ForIds(300, 3000, 300, {100});
  EXPECT_EQ(*Get(kKeyA, 0400, member), id);
  absl::StatusOr<int32_t> denied = Get(kKeyA, 0200, member);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(ErrnoOf(denied.status()), EACCES);
}

TEST_F(IpcRegistryTest, RootBypassesThePermissionCheck) {
  const int32_t id = *Get(kKeyA, kIpcCreat | 0000);
  EXPECT_EQ(*Get(kKeyA, 0666, Credentials::ForIds(1, 0, 0, {})), id);
}

TEST_F(IpcRegistryTest, CheckNewErrorIsReturnedAndNothingIsAllocated) {
  IpcRegistry::GetHooks hooks;
  hooks.check_new = [] { return ErrnoStatus(EINVAL, "size out of range"); };
  bool created = false;
  hooks.create = [&](int32_t, uint32_t, ObjectRecord&) {
    created = true;
    return absl::OkStatus();
  };
  absl::StatusOr<int32_t> id = Get(kKeyA, kIpcCreat | 0600, owner_, hooks);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EINVAL);
  EXPECT_FALSE(created);
  EXPECT_EQ(registry().in_use(), 0);
  EXPECT_EQ(*Get(kKeyA, kIpcCreat | 0600), 0);
}

TEST_F(IpcRegistryTest, CheckNewErrorPrecedesEnospc) {
  // newseg() checks the size before ipc_addid() checks the count.
  Reset(/*capacity=*/16, /*max_objects=*/1);
  ASSERT_TRUE(Get(kIpcPrivate, 0600).ok());
  IpcRegistry::GetHooks hooks;
  hooks.check_new = [] { return ErrnoStatus(EINVAL, "size out of range"); };
  absl::StatusOr<int32_t> id = Get(kIpcPrivate, 0600, owner_, hooks);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EINVAL);
}

TEST_F(IpcRegistryTest, EnospcAtMaxObjects) {
  Reset(/*capacity=*/16, /*max_objects=*/2);
  ASSERT_TRUE(Get(kKeyA, kIpcCreat | 0600).ok());
  ASSERT_TRUE(Get(kIpcPrivate, 0600).ok());
  bool created = false;
  IpcRegistry::GetHooks hooks;
  hooks.create = [&](int32_t, uint32_t, ObjectRecord&) {
    created = true;
    return absl::OkStatus();
  };
  absl::StatusOr<int32_t> id = Get(kKeyB, kIpcCreat | 0600, owner_, hooks);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOSPC);
  EXPECT_FALSE(created);
  EXPECT_EQ(ErrnoOf(Get(kIpcPrivate, 0600).status()), ENOSPC);
  // Existing keys are still found.
  EXPECT_EQ(*Get(kKeyA, 0600), 0);
  // Raising the limit (a sysctl write) makes room.
  registry().set_max_objects(3);
  EXPECT_TRUE(Get(kKeyB, kIpcCreat | 0600).ok());
}

TEST_F(IpcRegistryTest, EnospcWhenTheTableIsSmallerThanMaxObjects) {
  Reset(/*capacity=*/2, /*max_objects=*/100);
  ASSERT_TRUE(Get(kIpcPrivate, 0600).ok());
  ASSERT_TRUE(Get(kIpcPrivate, 0600).ok());
  absl::StatusOr<int32_t> id = Get(kIpcPrivate, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOSPC);
}

TEST_F(IpcRegistryTest, RemovingAnObjectMakesRoomUnderMaxObjects) {
  Reset(/*capacity=*/16, /*max_objects=*/1);
  const int32_t id = *Get(kIpcPrivate, 0600);
  registry().Remove(IpcIdIndex(id));
  EXPECT_TRUE(Get(kIpcPrivate, 0600).ok());
}

TEST_F(IpcRegistryTest, CreateHookSeesTheIndexAndSeqOfTheNewId) {
  Reset(/*capacity=*/4, /*max_objects=*/4);
  for (int i = 0; i < 4; ++i) CreateAndRemove();
  int32_t seen_index = -1;
  uint32_t seen_seq = 99;
  IpcRegistry::GetHooks hooks;
  hooks.create = [&](int32_t index, uint32_t seq, ObjectRecord& record) {
    seen_index = index;
    seen_seq = seq;
    record.size = 4096;
    record.aux0 = 1;
    return absl::OkStatus();
  };
  absl::StatusOr<int32_t> id = Get(kKeyA, kIpcCreat | 0600, owner_, hooks);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(MakeIpcId(seen_seq, seen_index), *id);
  EXPECT_EQ(seen_seq, 1u);
  // What the hook filled in is stored.
  EXPECT_EQ(registry().FindById(*id)->size, 4096u);
  EXPECT_EQ(registry().FindById(*id)->aux0, 1u);
}

TEST_F(IpcRegistryTest, CreateHookFailureReleasesTheSlot) {
  ASSERT_EQ(*Get(kKeyA, kIpcCreat | 0600), 0);
  IpcRegistry::GetHooks failing;
  failing.create = [](int32_t, uint32_t, ObjectRecord&) {
    return ErrnoStatus(ENOSPC, "no space for the backing file");
  };
  absl::StatusOr<int32_t> id = Get(kKeyB, kIpcCreat | 0600, owner_, failing);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOSPC);

  EXPECT_EQ(registry().in_use(), 1);
  EXPECT_EQ(registry().max_index_in_use(), 0);
  EXPECT_EQ(ErrnoOf(registry().FindByIndex(1).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(Get(kKeyB, 0600).status()), ENOENT);
  EXPECT_EQ(registry().table().header().last_index.load(), 0);
  EXPECT_EQ(registry().table().header().last_seq.load(), 0u);
  // Linux sets up the segment before ipc_addid(), so a failed creation uses
  // no id: the next object gets the id the failed one would have had.
  EXPECT_EQ(*Get(kKeyB, kIpcCreat | 0600), 1);
}

TEST_F(IpcRegistryTest, DropKeyMakesTheKeyUnfindableAndTheRecordPrivate) {
  const int32_t id = *Get(kKeyA, kIpcCreat | 0600);
  registry().DropKey(IpcIdIndex(id));

  absl::StatusOr<ObjectRecord> record = registry().FindById(id);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->perm.key, kIpcPrivate);
  EXPECT_EQ(record->state, EntryState::kLive);
  EXPECT_EQ(registry().in_use(), 1);
  EXPECT_EQ(ErrnoOf(Get(kKeyA, 0600).status()), ENOENT);

  // The key is free for a new object; the old one lives on under its id.
  absl::StatusOr<int32_t> fresh = Get(kKeyA, kIpcCreat | kIpcExcl | 0600);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_NE(*fresh, id);
  EXPECT_EQ(*Get(kKeyA, 0600), *fresh);
}

TEST_F(IpcRegistryTest, RemovingAnObjectWhoseKeyWasDroppedKeepsTheKeysNewOwner) {
  const int32_t old_id = *Get(kKeyA, kIpcCreat | 0600);
  registry().DropKey(IpcIdIndex(old_id));
  const int32_t new_id = *Get(kKeyA, kIpcCreat | 0600);
  registry().Remove(IpcIdIndex(old_id));
  EXPECT_EQ(*Get(kKeyA, 0600), new_id);
}

TEST_F(IpcRegistryTest, DropKeyOfAPrivateObjectChangesNothing) {
  const int32_t id = *Get(kIpcPrivate, 0600);
  const ObjectRecord before = *registry().FindById(id);
  registry().DropKey(IpcIdIndex(id));
  const ObjectRecord after = *registry().FindById(id);
  EXPECT_EQ(after.perm.key, kIpcPrivate);
  EXPECT_EQ(after.perm.mode, before.perm.mode);
}

TEST_F(IpcRegistryTest, RemoveFreesTheSlotAndTheKey) {
  const int32_t a = *Get(kKeyA, kIpcCreat | 0600);
  const int32_t b = *Get(kKeyB, kIpcCreat | 0600);
  registry().Remove(IpcIdIndex(a));

  EXPECT_EQ(registry().in_use(), 1);
  EXPECT_EQ(ErrnoOf(registry().FindById(a).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(registry().FindByIndex(IpcIdIndex(a)).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(Get(kKeyA, 0600).status()), ENOENT);
  EXPECT_EQ(*Get(kKeyB, 0600), b);
  // The freed entry keeps its seq, so the stale id never matches again.
  absl::StatusOr<ObjectRecord> freed = registry().table().Read(IpcIdIndex(a));
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->state, EntryState::kFree);
  EXPECT_EQ(freed->perm.seq, IpcIdSeq(a));
}

TEST_F(IpcRegistryTest, RemoveTwiceCountsOnce) {
  const int32_t a = *Get(kKeyA, kIpcCreat | 0600);
  ASSERT_TRUE(Get(kKeyB, kIpcCreat | 0600).ok());
  registry().Remove(IpcIdIndex(a));
  registry().Remove(IpcIdIndex(a));
  EXPECT_EQ(registry().in_use(), 1);
}

TEST_F(IpcRegistryTest, FindByIdRejectsAStaleSeq) {
  Reset(/*capacity=*/4, /*max_objects=*/4);
  const int32_t first = *Get(kIpcPrivate, 0600);
  ASSERT_EQ(first, 0);
  EXPECT_EQ(ErrnoOf(registry().FindById(MakeIpcId(1, 0)).status()), EINVAL);
  registry().Remove(0);
  for (int i = 1; i < 4; ++i) CreateAndRemove();
  // The cycle wrapped: index 0 is reused under seq 1.
  const int32_t reused = *Get(kIpcPrivate, 0600);
  ASSERT_EQ(reused, MakeIpcId(1, 0));
  EXPECT_EQ(ErrnoOf(registry().FindById(first).status()), EINVAL);
  EXPECT_TRUE(registry().FindById(reused).ok());
  // FindByIndex does not look at the seq.
  EXPECT_TRUE(registry().FindByIndex(0).ok());
}

TEST_F(IpcRegistryTest, FindByIdRejectsNegativeIdsWhoseIndexIsLive) {
  ASSERT_EQ(*Get(kIpcPrivate, 0600), 0);
  for (int32_t id : {-32768, INT32_MIN, -1}) {
    EXPECT_EQ(ErrnoOf(registry().FindById(id).status()), EINVAL) << id;
  }
}

TEST_F(IpcRegistryTest, FindByIndexOutsideTheTableFailsWithEinval) {
  EXPECT_EQ(ErrnoOf(registry().FindByIndex(-1).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(registry().FindByIndex(16).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(registry().FindById(MakeIpcId(0, 16)).status()), EINVAL);
}

TEST_F(IpcRegistryTest, UpdateRewritesTheRecord) {
  const int32_t id = *Get(kKeyA, kIpcCreat | 0600);
  ObjectRecord record = *registry().FindById(id);
  record.perm.mode = 0644;
  record.lpid = 77;
  registry().Update(IpcIdIndex(id), record);
  EXPECT_EQ(registry().FindById(id)->perm.mode, 0644u);
  EXPECT_EQ(registry().FindById(id)->lpid, 77);
}

TEST_F(IpcRegistryTest, MaxIndexInUseIsMinusOneWhenEmptyElseTheHighestIndex) {
  EXPECT_EQ(registry().max_index_in_use(), -1);
  ASSERT_TRUE(Get(kIpcPrivate, 0600).ok());
  ASSERT_TRUE(Get(kIpcPrivate, 0600).ok());
  const int32_t third = *Get(kIpcPrivate, 0600);
  EXPECT_EQ(registry().max_index_in_use(), 2);
  registry().Remove(IpcIdIndex(third));
  EXPECT_EQ(registry().max_index_in_use(), 1);
}

TEST_F(IpcRegistryTest, ForEachLiveVisitsLiveObjectsByIndex) {
  const int32_t a = *Get(kKeyA, kIpcCreat | 0600);
  const int32_t b = *Get(kKeyB, kIpcCreat | 0600);
  const int32_t c = *Get(kKeyC, kIpcCreat | 0600);
  registry().Remove(IpcIdIndex(b));
  std::vector<std::pair<int32_t, Key>> seen;
  registry().ForEachLive([&](int32_t index, const ObjectRecord& record) {
    seen.emplace_back(index, record.perm.key);
  });
  EXPECT_EQ(seen,
            (std::vector<std::pair<int32_t, Key>>{{IpcIdIndex(a), kKeyA}, {IpcIdIndex(c), kKeyC}}));
}

TEST_F(IpcRegistryTest, IdsCycleThroughSixtyFourIndexesWhenFewObjectsExist) {
  // ipc_idr_alloc(): max_idx = max(in_use * 3 / 2, ipc_min_cycle), with
  // ipc_min_cycle = RADIX_TREE_MAP_SIZE = 64; a larger table does not widen it.
  Reset(/*capacity=*/256, /*max_objects=*/256);
  for (int32_t i = 0; i < 64; ++i) ASSERT_EQ(CreateAndRemove(), i);
  EXPECT_EQ(CreateAndRemove(), MakeIpcId(1, 0));
  EXPECT_EQ(CreateAndRemove(), MakeIpcId(1, 1));
}

TEST_F(IpcRegistryTest, IdCycleWidensWithTheNumberOfObjectsInUse) {
  Reset(/*capacity=*/256, /*max_objects=*/256);
  for (int32_t i = 0; i < 50; ++i) ASSERT_EQ(*Get(kIpcPrivate, 0600), i);
  // With 50 in use the cycle spans max(75, 64) = 75 indexes.
  for (int32_t i = 50; i < 75; ++i) ASSERT_EQ(CreateAndRemove(), i);
  EXPECT_EQ(CreateAndRemove(), MakeIpcId(1, 50));
}

TEST_F(IpcRegistryTest, RestartFindsKeysAndContinuesIds) {
  const int32_t a = *Get(kKeyA, kIpcCreat | 0600);
  const int32_t b = *Get(kKeyB, kIpcCreat | 0640);
  const int32_t p = *Get(kIpcPrivate, 0600);
  registry().Remove(IpcIdIndex(b));

  Restart();
  EXPECT_EQ(registry().in_use(), 2);
  EXPECT_EQ(*Get(kKeyA, 0600), a);
  EXPECT_EQ(ErrnoOf(Get(kKeyB, 0600).status()), ENOENT);
  EXPECT_TRUE(registry().FindById(p).ok());
  EXPECT_EQ(registry().max_index_in_use(), IpcIdIndex(p));
  // The allocator resumes after the last index it handed out: b's id is not
  // handed out again.
  const int32_t c = *Get(kKeyC, kIpcCreat | 0600);
  EXPECT_NE(c, b);
  EXPECT_EQ(c, 3);
}

TEST_F(IpcRegistryTest, RestartNeverReissuesAnIdOfTheSameCycle) {
  Reset(/*capacity=*/4, /*max_objects=*/4);
  std::vector<int32_t> issued;
  for (int i = 0; i < 4; ++i) issued.push_back(CreateAndRemove());
  Restart();
  const int32_t next = *Get(kIpcPrivate, 0600);
  for (int32_t old : issued) EXPECT_NE(next, old);
  EXPECT_EQ(next, MakeIpcId(1, 0));
}

TEST_F(IpcRegistryTest, RestartForgetsDroppedKeys) {
  const int32_t a = *Get(kKeyA, kIpcCreat | 0600);
  registry().DropKey(IpcIdIndex(a));
  Restart();
  EXPECT_EQ(ErrnoOf(Get(kKeyA, 0600).status()), ENOENT);
  EXPECT_TRUE(registry().FindById(a).ok());
  EXPECT_EQ(registry().in_use(), 1);
}

// ipc_idr_alloc() with next_id (the *_next_id sysctls): that id's sequence
// and the first free index from its index up, once; then the cyclic
// allocator goes on where it was.
TEST_F(IpcRegistryTest, NextIdNamesTheNextObjectOnce) {
  const int32_t wanted = MakeIpcId(3, 5);
  registry().set_next_id(wanted);
  absl::StatusOr<int32_t> id = Get(kKeyA, kIpcCreat | 0600);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, wanted);
  EXPECT_EQ(registry().next_id(), -1);
  // The cyclic allocator did not move: the next object takes index 0.
  absl::StatusOr<int32_t> next = Get(kKeyB, kIpcCreat | 0600);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 0);
  // An index in use: the first free one above it, with the wanted seq.
  registry().set_next_id(MakeIpcId(7, 5));
  absl::StatusOr<int32_t> bumped = Get(kKeyC, kIpcCreat | 0600);
  ASSERT_TRUE(bumped.ok()) << bumped.status();
  EXPECT_EQ(*bumped, MakeIpcId(7, 6));
}

TEST_F(IpcRegistryTest, NextIdIsKeptWhenNothingIsCreated) {
  ASSERT_TRUE(Get(kKeyA, kIpcCreat | 0600).ok());
  registry().set_next_id(9);
  // An existing key creates nothing, and neither does a failed creation.
  ASSERT_TRUE(Get(kKeyA, kIpcCreat | 0600).ok());
  IpcRegistry::GetHooks failing;
  failing.create = [](int32_t, uint32_t, ObjectRecord&) { return ErrnoStatus(ENOMEM, "no memory"); };
  EXPECT_EQ(ErrnoOf(Get(kKeyB, kIpcCreat | 0600, owner_, failing).status()), ENOMEM);
  EXPECT_EQ(registry().next_id(), 9);
  absl::StatusOr<int32_t> id = Get(kKeyB, kIpcCreat | 0600);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 9);
}

}  // namespace
}  // namespace sysv::core

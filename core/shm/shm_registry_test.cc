// Tests of System V shared memory's table side, against Linux ipc/shm.c:
// newseg(), shm_more_checks(), shmctl_stat(), shmctl_ipc_info(),
// shmctl_shm_info(), shmctl_down(), do_shm_rmid(), shmctl_do_lock() and the
// checks of do_shmat().
//
// The backing is a fake that records what the registry asks of it; the census
// sums real attach ledgers, one per simulated client process.
#include "core/shm/shm_registry.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/ipc/credentials.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/ipc/object_table.h"
#include "core/shm/attach_ledger.h"
#include "core/shm/shm_types.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

constexpr int64_t kNanos = 1'000'000'000;
constexpr int64_t kNowNs = 1'700'000'000 * kNanos + 123;
constexpr Key kKey = 0x5107;
constexpr Key kOtherKey = 0x5108;
constexpr uint32_t kCapacity = 64;
constexpr uint32_t kInvalidUid = static_cast<uint32_t>(-1);

// Records Create/Destroy calls; can be told to fail creation.
class FakeBacking : public ShmRegistry::Backing {
 public:
  struct Segment {
    int32_t index;
    uint32_t seq;
    uint64_t bytes;
    bool operator==(const Segment& other) const {
      return index == other.index && seq == other.seq && bytes == other.bytes;
    }
  };

  absl::Status Create(int32_t index, uint32_t seq, uint64_t bytes) override {
    if (fail_with != 0) return ErrnoStatus(fail_with, "fake backing refuses");
    created.push_back({index, seq, bytes});
    return absl::OkStatus();
  }
  void Destroy(int32_t index, uint32_t seq) override { destroyed.push_back({index, seq, 0}); }
  uint64_t ResidentPages(int32_t index, uint32_t seq) override {
    auto it = resident.find({index, seq});
    return it == resident.end() ? 0 : it->second;
  }

  std::optional<HugePages> HugePagesOf(int size_log) override {
    if (size_log != 0 && size_log != 21) return std::nullopt;
    return huge_pages;
  }
  uint32_t HugetlbShmGroup() override { return hugetlb_group; }

  int fail_with = 0;
  HugePages huge_pages{2 << 20, 0};  // like a machine with no huge pages reserved
  uint32_t hugetlb_group = 0;
  std::vector<Segment> created;
  std::vector<Segment> destroyed;
  std::map<std::pair<int32_t, uint32_t>, uint64_t> resident;
};

// A client process: its pid and its own attach ledger.
class FakeProcess {
 public:
  explicit FakeProcess(int32_t pid) : pid_(pid), memory_(AttachLedgerSize(kCapacity)) {
    absl::StatusOr<AttachLedger> ledger =
        AttachLedger::Format(memory_.data(), memory_.size(), kCapacity, pid);
    EXPECT_TRUE(ledger.ok()) << ledger.status();
    ledger_.emplace(*ledger);
  }
  FakeProcess(const FakeProcess&) = delete;
  FakeProcess& operator=(const FakeProcess&) = delete;

  // A shmat: the daemon grants the segment, the process counts it.
  void Attach(int32_t id, int64_t now_ns) {
    grants_.Grant(IpcIdIndex(id), IpcIdSeq(id), /*writable=*/true);
    ASSERT_TRUE(ledger_->RecordAttach(IpcIdIndex(id), IpcIdSeq(id), now_ns));
  }
  void Detach(int32_t id, int64_t now_ns) {
    ASSERT_TRUE(ledger_->RecordDetach(IpcIdIndex(id), IpcIdSeq(id), now_ns));
  }
  int32_t pid() const { return pid_; }
  const AttachLedger& ledger() const { return *ledger_; }
  AttachLedger& ledger() { return *ledger_; }
  const ShmGrants& grants() const { return grants_; }
  ShmGrants& grants() { return grants_; }

 private:
  int32_t pid_;
  ShmGrants grants_;
  std::vector<std::byte> memory_;
  std::optional<AttachLedger> ledger_;
};

// Sums the ledgers of the live processes, as the daemon's census does.
class LedgerCensus : public ShmRegistry::Census {
 public:
  void Add(const FakeProcess* process) { live_.push_back(process); }
  // The process died: its ledger no longer counts.
  void Remove(const FakeProcess* process) {
    live_.erase(std::remove(live_.begin(), live_.end(), process), live_.end());
  }

  ShmRegistry::CensusResult Count(int32_t index, uint32_t seq) override {
    ShmRegistry::CensusResult result;
    for (const FakeProcess* process : live_) {
      const LedgerSummary summary = process->grants().Summarize(process->ledger(), index, seq);
      result.nattch += summary.nattch;
      if (summary.last_attach_ns > result.last_attach_ns) {
        result.last_attach_ns = summary.last_attach_ns;
        result.last_attach_pid = process->pid();
      }
      if (summary.last_detach_ns > result.last_detach_ns) {
        result.last_detach_ns = summary.last_detach_ns;
        result.last_detach_pid = process->pid();
      }
    }
    return result;
  }

  void Forget(int32_t index, uint32_t seq) override {
    for (const FakeProcess* process : live_) const_cast<FakeProcess*>(process)->grants().Revoke(index, seq);
    forgotten.push_back({index, seq});
  }

  std::vector<std::pair<int32_t, uint32_t>> forgotten;

 private:
  std::vector<const FakeProcess*> live_;
};

class ShmRegistryTest : public ::testing::Test {
 protected:
  ShmRegistryTest() : memory_((ObjectTableSize(kCapacity) + 7) / 8, 0) { Rebuild(); }

  // A new namespace. `last_index` and `last_seq` place the id allocator as a
  // namespace that has already handed out ids would have it.
  void Rebuild(int32_t last_index = -1, uint32_t last_seq = 0) {
    shm_.reset();
    ids_.reset();
    std::fill(memory_.begin(), memory_.end(), 0);
    absl::StatusOr<ObjectTable> table =
        ObjectTable::Format(memory_.data(), TableBytes(), IpcKind::kShm, kCapacity);
    ASSERT_TRUE(table.ok()) << table.status();
    table->header().last_index.store(last_index);
    table->header().last_seq.store(last_seq);
    ids_.emplace(*table, limits_.shmmni);
    shm_.emplace(*ids_, limits_, backing_, census_);
  }

  // The daemon restarts over the same table memory.
  void Restart() {
    shm_.reset();
    ids_.reset();
    absl::StatusOr<ObjectTable> table =
        ObjectTable::Open(memory_.data(), TableBytes(), IpcKind::kShm);
    ASSERT_TRUE(table.ok()) << table.status();
    ids_.emplace(*table, limits_.shmmni);
    shm_.emplace(*ids_, limits_, backing_, census_);
  }

  size_t TableBytes() const { return ObjectTableSize(kCapacity); }
  ObjectEntry& RawEntry(int32_t index) {
    auto* entries = reinterpret_cast<ObjectEntry*>(reinterpret_cast<char*>(memory_.data()) +
                                                   ObjectTableHeader::kSize);
    return entries[index];
  }

  ShmRegistry& shm() { return *shm_; }
  IpcRegistry& ids() { return *ids_; }

  absl::StatusOr<int32_t> Get(Key key, uint64_t size, int flags, const Credentials& creds,
                              int64_t now_ns = kNowNs) {
    return shm_->Get(key, size, flags, OpContext{creds, now_ns});
  }
  absl::StatusOr<int32_t> Get(Key key, uint64_t size, int flags) {
    return Get(key, size, flags, owner_);
  }
  // A segment that must be created.
  int32_t Create(Key key, uint64_t size, int mode) {
    absl::StatusOr<int32_t> id = Get(key, size, kIpcCreat | kIpcExcl | mode);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : -1;
  }

  absl::StatusOr<ShmCtlResult> Ctl(int32_t id, int cmd, const Credentials& creds,
                                   const ShmSetArgs& set = {}, uint64_t memlock = UINT64_MAX,
                                   int64_t now_ns = kNowNs) {
    return shm_->Ctl(id, cmd, set, memlock, OpContext{creds, now_ns});
  }
  int CtlErrno(int32_t id, int cmd, const Credentials& creds, const ShmSetArgs& set = {},
               uint64_t memlock = UINT64_MAX) {
    return ErrnoOf(Ctl(id, cmd, creds, set, memlock).status());
  }
  ShmStat StatOrDie(int32_t id) {
    absl::StatusOr<ShmCtlResult> result = Ctl(id, kIpcStat, root_);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->stat : ShmStat();
  }

  FakeProcess& Spawn(int32_t pid) {
    processes_.push_back(std::make_unique<FakeProcess>(pid));
    census_.Add(processes_.back().get());
    return *processes_.back();
  }

  ShmLimits limits_;
  FakeBacking backing_;
  LedgerCensus census_;
  const Credentials owner_ = Credentials::ForIds(/*pid=*/100, /*uid=*/1000, /*gid=*/100, {});
  const Credentials member_ = Credentials::ForIds(/*pid=*/150, /*uid=*/1500, /*gid=*/150, {100});
  const Credentials stranger_ = Credentials::ForIds(/*pid=*/200, /*uid=*/2000, /*gid=*/200, {});
  const Credentials root_ = Credentials::ForIds(/*pid=*/1, /*uid=*/0, /*gid=*/0, {});

 private:
  std::vector<uint64_t> memory_;
  std::optional<IpcRegistry> ids_;
  std::optional<ShmRegistry> shm_;
  std::vector<std::unique_ptr<FakeProcess>> processes_;
};

// --- shmget

TEST_F(ShmRegistryTest, GetRejectsAZeroSizeWithEinval) {
  absl::StatusOr<int32_t> id = Get(kIpcPrivate, 0, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EINVAL);
  EXPECT_TRUE(backing_.created.empty());
}

TEST_F(ShmRegistryTest, GetRejectsASizeAboveShmmaxWithEinval) {
  limits_.shmmax = 1 << 20;
  absl::StatusOr<int32_t> id = Get(kIpcPrivate, (1 << 20) + 1, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), EINVAL);
  EXPECT_TRUE(Get(kIpcPrivate, 1 << 20, 0600).ok());
}

TEST_F(ShmRegistryTest, GetOfAMissingKeyWithoutCreatFailsWithEnoentBeforeSizeChecks) {
  absl::StatusOr<int32_t> id = Get(kKey, 0, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOENT);
}

TEST_F(ShmRegistryTest, GetCreatesABackingOfWholePages) {
  const int32_t id = Create(kKey, 5000, 0600);
  ASSERT_EQ(backing_.created.size(), 1u);
  EXPECT_EQ(backing_.created[0], (FakeBacking::Segment{IpcIdIndex(id), IpcIdSeq(id), 8192}));
  EXPECT_EQ(shm().total_pages(), 2u);
  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.segsz, 5000u);  // shm_segsz is the size asked for
}

TEST_F(ShmRegistryTest, PagesForRoundsUp) {
  EXPECT_EQ(ShmRegistry::PagesFor(1), 1u);
  EXPECT_EQ(ShmRegistry::PagesFor(4096), 1u);
  EXPECT_EQ(ShmRegistry::PagesFor(4097), 2u);
  EXPECT_EQ(ShmRegistry::PagesFor(UINT64_MAX), (UINT64_MAX >> 12) + 1);
}

TEST_F(ShmRegistryTest, GetFailsWithEnospcWhenShmallIsExhausted) {
  limits_.shmall = 3;
  ASSERT_TRUE(Get(kIpcPrivate, 2 * 4096, 0600).ok());
  absl::StatusOr<int32_t> id = Get(kIpcPrivate, 4096 + 1, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOSPC);
  ASSERT_TRUE(Get(kIpcPrivate, 4096, 0600).ok());
  EXPECT_EQ(shm().total_pages(), 3u);
  EXPECT_EQ(ErrnoOf(Get(kIpcPrivate, 1, 0600).status()), ENOSPC);
}

TEST_F(ShmRegistryTest, GetFailsWithEnospcWhenThePageCountOverflows) {
  // newseg(): "if (numpages << PAGE_SHIFT < size) return -ENOSPC;"
  limits_.shmmax = UINT64_MAX;
  absl::StatusOr<int32_t> id = Get(kIpcPrivate, UINT64_MAX, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOSPC);
}

TEST_F(ShmRegistryTest, GetFailsWithEnospcWhenShmmniSegmentsExist) {
  limits_.shmmni = 2;
  Rebuild();
  ASSERT_TRUE(Get(kIpcPrivate, 1, 0600).ok());
  ASSERT_TRUE(Get(kIpcPrivate, 1, 0600).ok());
  absl::StatusOr<int32_t> id = Get(kIpcPrivate, 1, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOSPC);
  EXPECT_EQ(shm().total_pages(), 2u);
}

TEST_F(ShmRegistryTest, GetOfAnExistingKeyWithALargerSizeFailsWithEinvalBeforeEacces) {
  const int32_t id = Create(kKey, 4096, 0600);
  absl::StatusOr<int32_t> got = Get(kKey, 8192, 0600, stranger_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(ErrnoOf(got.status()), EINVAL);
  got = Get(kKey, 4096, 0600, stranger_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(ErrnoOf(got.status()), EACCES);
  // Size 0 and no permission bits ask for nothing.
  EXPECT_EQ(*Get(kKey, 0, 0, stranger_), id);
  // A smaller size is fine.
  EXPECT_EQ(*Get(kKey, 100, 0600), id);
}

TEST_F(ShmRegistryTest, GetOfAnExistingKeyIgnoresTheNewSegmentLimits) {
  const int32_t id = Create(kKey, 8192, 0600);
  limits_.shmmax = 4096;
  limits_.shmall = 0;
  EXPECT_EQ(*Get(kKey, 0, 0600), id);
  EXPECT_EQ(*Get(kKey, 8192, kIpcCreat | 0600), id);
}

TEST_F(ShmRegistryTest, GetOfAnExistingKeyWithCreatExclFailsWithEexist) {
  Create(kKey, 4096, 0600);
  absl::StatusOr<int32_t> got = Get(kKey, 1 << 30, kIpcCreat | kIpcExcl | 0600);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(ErrnoOf(got.status()), EEXIST);
}

TEST_F(ShmRegistryTest, BackingFailureReleasesTheSlotAndThePages) {
  backing_.fail_with = ENOSPC;
  absl::StatusOr<int32_t> id = Get(kKey, 4096, kIpcCreat | 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(ErrnoOf(id.status()), ENOSPC);
  EXPECT_EQ(shm().total_pages(), 0u);
  EXPECT_EQ(ids().in_use(), 0);
  EXPECT_EQ(ErrnoOf(Get(kKey, 4096, 0600).status()), ENOENT);
  absl::StatusOr<ShmCtlResult> info = Ctl(0, kShmInfo, owner_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->usage.used_ids, 0);
  EXPECT_EQ(info->usage.shm_tot, 0u);

  backing_.fail_with = 0;
  EXPECT_EQ(*Get(kKey, 4096, kIpcCreat | 0600), 0);
}

// --- IPC_STAT, SHM_STAT, SHM_STAT_ANY

TEST_F(ShmRegistryTest, IpcStatReportsTheSegment) {
  const int32_t id = Create(kKey, 5000, 0640);
  absl::StatusOr<ShmCtlResult> result = Ctl(id, kIpcStat, owner_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->value, 0);
  const ShmStat& stat = result->stat;
  EXPECT_EQ(stat.perm.key, kKey);
  EXPECT_EQ(stat.perm.uid, 1000u);
  EXPECT_EQ(stat.perm.gid, 100u);
  EXPECT_EQ(stat.perm.cuid, 1000u);
  EXPECT_EQ(stat.perm.cgid, 100u);
  EXPECT_EQ(stat.perm.mode, 0640u);
  EXPECT_EQ(stat.perm.seq, IpcIdSeq(id));
  EXPECT_EQ(stat.segsz, 5000u);
  EXPECT_EQ(stat.cpid, 100);
  EXPECT_EQ(stat.lpid, 0);
  EXPECT_EQ(stat.ctime, kNowNs / kNanos);
  EXPECT_EQ(stat.atime, 0);
  EXPECT_EQ(stat.dtime, 0);
  EXPECT_EQ(stat.nattch, 0u);
}

TEST_F(ShmRegistryTest, IpcStatNeedsReadPermission) {
  const int32_t id = Create(kKey, 4096, 0600);
  EXPECT_EQ(CtlErrno(id, kIpcStat, stranger_), EACCES);
  EXPECT_EQ(CtlErrno(id, kIpcStat, member_), EACCES);
  EXPECT_EQ(CtlErrno(id, kIpcStat, owner_), 0);
  EXPECT_EQ(CtlErrno(id, kIpcStat, root_), 0);

  const int32_t group_readable = Create(kOtherKey, 4096, 0640);
  EXPECT_EQ(CtlErrno(group_readable, kIpcStat, member_), 0);
  EXPECT_EQ(CtlErrno(group_readable, kIpcStat, stranger_), EACCES);

  // Write permission alone does not let the owner stat.
  const int32_t write_only = Create(kIpcPrivate, 4096, 0200);
  EXPECT_EQ(CtlErrno(write_only, kIpcStat, owner_), EACCES);
}

TEST_F(ShmRegistryTest, IpcStatCountsLiveAttachmentsAndNamesTheLatestPid) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& first = Spawn(301);
  FakeProcess& second = Spawn(302);
  first.Attach(id, 10 * kNanos);
  first.Attach(id, 11 * kNanos);
  second.Attach(id, 20 * kNanos);
  first.Detach(id, 30 * kNanos);
  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.nattch, 2u);
  EXPECT_EQ(stat.atime, 20);
  EXPECT_EQ(stat.dtime, 30);
  EXPECT_EQ(stat.lpid, 301);  // the detach at 30 s is the latest event
}

TEST_F(ShmRegistryTest, IpcStatOfAnUnknownOrStaleIdFailsWithEinval) {
  const int32_t id = Create(kKey, 4096, 0600);
  EXPECT_EQ(CtlErrno(5, kIpcStat, root_), EINVAL);
  EXPECT_EQ(CtlErrno(MakeIpcId(IpcIdSeq(id) + 1, IpcIdIndex(id)), kIpcStat, root_), EINVAL);
  EXPECT_EQ(CtlErrno(MakeIpcId(0, kCapacity), kIpcStat, root_), EINVAL);
}

TEST_F(ShmRegistryTest, ShmStatTakesAnIndexAndReturnsTheFullId) {
  Rebuild(/*last_index=*/kCapacity - 1, /*last_seq=*/4);
  const int32_t id = Create(kKey, 4096, 0600);
  ASSERT_EQ(id, MakeIpcId(5, 0));

  absl::StatusOr<ShmCtlResult> result = Ctl(0, kShmStat, owner_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->value, id);
  EXPECT_EQ(result->stat.segsz, 4096u);
  EXPECT_EQ(result->stat.perm.key, kKey);
  // ipc_obtain_object_idr() keeps only the index bits.
  result = Ctl(id, kShmStat, owner_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->value, id);
  // IPC_STAT wants the full id: the bare index is a stale id.
  EXPECT_EQ(CtlErrno(0, kIpcStat, owner_), EINVAL);
}

TEST_F(ShmRegistryTest, ShmStatNeedsReadPermissionAndShmStatAnyDoesNot) {
  Rebuild(/*last_index=*/kCapacity - 1, /*last_seq=*/2);
  const int32_t id = Create(kKey, 4096, 0600);
  const int32_t index = IpcIdIndex(id);
  EXPECT_EQ(CtlErrno(index, kShmStat, stranger_), EACCES);
  absl::StatusOr<ShmCtlResult> result = Ctl(index, kShmStatAny, stranger_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->value, id);
  EXPECT_EQ(result->stat.perm.mode, 0600u);
}

TEST_F(ShmRegistryTest, ShmStatOfAFreeIndexFailsWithEinval) {
  Create(kKey, 4096, 0600);
  for (int cmd : {kShmStat, kShmStatAny}) {
    EXPECT_EQ(CtlErrno(3, cmd, root_), EINVAL) << cmd;
    EXPECT_EQ(CtlErrno(kCapacity, cmd, root_), EINVAL) << cmd;
  }
}

// --- IPC_INFO, SHM_INFO

TEST_F(ShmRegistryTest, IpcInfoReturnsZeroWhenEmptyAndTheLimits) {
  limits_.shmmax = 1 << 30;
  limits_.shmall = 1 << 20;
  absl::StatusOr<ShmCtlResult> result = Ctl(0, kIpcInfo, stranger_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->value, 0);
  EXPECT_EQ(result->ipc_info.shmmax, uint64_t{1} << 30);
  EXPECT_EQ(result->ipc_info.shmmin, 1u);
  EXPECT_EQ(result->ipc_info.shmmni, 4096u);
  EXPECT_EQ(result->ipc_info.shmseg, 4096u);
  EXPECT_EQ(result->ipc_info.shmall, uint64_t{1} << 20);
}

TEST_F(ShmRegistryTest, IpcInfoAndShmInfoReturnTheHighestIndexInUse) {
  const int32_t a = Create(kIpcPrivate, 1, 0600);
  Create(kIpcPrivate, 1, 0600);
  const int32_t c = Create(kIpcPrivate, 1, 0600);
  EXPECT_EQ(Ctl(0, kIpcInfo, owner_)->value, 2);
  EXPECT_EQ(Ctl(0, kShmInfo, owner_)->value, 2);
  ASSERT_EQ(CtlErrno(c, kIpcRmid, owner_), 0);
  EXPECT_EQ(Ctl(0, kIpcInfo, owner_)->value, 1);
  ASSERT_EQ(CtlErrno(a, kIpcRmid, owner_), 0);
  EXPECT_EQ(Ctl(0, kShmInfo, owner_)->value, 1);
}

TEST_F(ShmRegistryTest, ShmInfoReportsUsedIdsPagesAndResidentPages) {
  const int32_t a = Create(kIpcPrivate, 5000, 0600);
  const int32_t b = Create(kKey, 4096, 0600);
  backing_.resident[{IpcIdIndex(a), IpcIdSeq(a)}] = 2;
  backing_.resident[{IpcIdIndex(b), IpcIdSeq(b)}] = 1;
  absl::StatusOr<ShmCtlResult> result = Ctl(0, kShmInfo, stranger_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->value, 1);
  EXPECT_EQ(result->usage.used_ids, 2);
  EXPECT_EQ(result->usage.shm_tot, 3u);
  EXPECT_EQ(result->usage.shm_rss, 3u);
  EXPECT_EQ(result->usage.shm_swp, 0u);
  EXPECT_EQ(result->usage.swap_attempts, 0u);
  EXPECT_EQ(result->usage.swap_successes, 0u);
}

TEST_F(ShmRegistryTest, ShmInfoCountsARemovedSegmentStillAttached) {
  const int32_t id = Create(kKey, 4096, 0600);
  Spawn(300).Attach(id, kNowNs);
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  absl::StatusOr<ShmCtlResult> result = Ctl(0, kShmInfo, owner_);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->usage.used_ids, 1);
  EXPECT_EQ(result->usage.shm_tot, 1u);
}

// --- IPC_SET

TEST_F(ShmRegistryTest, IpcSetByAStrangerFailsWithEperm) {
  const int32_t id = Create(kKey, 4096, 0666);
  EXPECT_EQ(CtlErrno(id, kIpcSet, stranger_, {2000, 200, 0600}), EPERM);
  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.perm.uid, 1000u);
  EXPECT_EQ(stat.perm.mode, 0666u);
}

TEST_F(ShmRegistryTest, IpcSetOfAnUnknownIdFailsWithEinvalBeforeEperm) {
  EXPECT_EQ(CtlErrno(7, kIpcSet, stranger_, {2000, 200, 0600}), EINVAL);
}

TEST_F(ShmRegistryTest, IpcSetIsAllowedToOwnerCreatorAndRoot) {
  const int32_t id = Create(kKey, 4096, 0600);
  // Give the segment away: the creator keeps the right, the new owner gets it.
  ASSERT_EQ(CtlErrno(id, kIpcSet, owner_, {2000, 200, 0600}), 0);
  EXPECT_EQ(CtlErrno(id, kIpcSet, stranger_, {2000, 200, 0640}), 0);
  EXPECT_EQ(CtlErrno(id, kIpcSet, owner_, {2000, 200, 0644}), 0);
  EXPECT_EQ(CtlErrno(id, kIpcSet, member_, {2000, 200, 0644}), EPERM);
  EXPECT_EQ(CtlErrno(id, kIpcSet, root_, {1000, 100, 0600}), 0);
  EXPECT_EQ(StatOrDie(id).perm.uid, 1000u);
}

TEST_F(ShmRegistryTest, IpcSetWithAnInvalidUidOrGidFailsWithEinval) {
  const int32_t id = Create(kKey, 4096, 0600);
  EXPECT_EQ(CtlErrno(id, kIpcSet, owner_, {kInvalidUid, 100, 0644}), EINVAL);
  EXPECT_EQ(CtlErrno(id, kIpcSet, owner_, {1000, kInvalidUid, 0644}), EINVAL);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0600u);
}

TEST_F(ShmRegistryTest, IpcSetWithAnIdUnmappedInTheCallersUserNamespaceFailsWithEinval) {
  // ipc_update_perm(): make_kuid()/make_kgid() in the caller's namespace.
  const int32_t id = Create(kKey, 4096, 0600);
  Credentials namespaced = owner_;
  namespaced.uid_map = {{1000, 1}};
  namespaced.gid_map = {{100, 1}};
  EXPECT_EQ(CtlErrno(id, kIpcSet, namespaced, {2000, 100, 0644}), EINVAL);
  EXPECT_EQ(CtlErrno(id, kIpcSet, namespaced, {1000, 200, 0644}), EINVAL);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0600u);
  EXPECT_EQ(CtlErrno(id, kIpcSet, namespaced, {1000, 100, 0644}), 0);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0644u);
}

TEST_F(ShmRegistryTest, IpcSetUpdatesOwnerLowNineModeBitsAndCtime) {
  const int32_t id = Create(kKey, 4096, 0600);
  const int64_t later_ns = kNowNs + 500 * kNanos;
  absl::StatusOr<ShmCtlResult> result =
      Ctl(id, kIpcSet, owner_, {3000, 300, 07777 | kShmDest | kShmLocked}, UINT64_MAX, later_ns);
  ASSERT_TRUE(result.ok()) << result.status();
  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.perm.uid, 3000u);
  EXPECT_EQ(stat.perm.gid, 300u);
  EXPECT_EQ(stat.perm.cuid, 1000u);
  EXPECT_EQ(stat.perm.cgid, 100u);
  EXPECT_EQ(stat.perm.mode, 0777u);
  EXPECT_EQ(stat.ctime, later_ns / kNanos);
  EXPECT_EQ(stat.perm.key, kKey);
}

TEST_F(ShmRegistryTest, IpcSetKeepsTheLockedBit) {
  const int32_t id = Create(kKey, 4096, 0600);
  ASSERT_EQ(CtlErrno(id, kShmLock, owner_), 0);
  ASSERT_EQ(CtlErrno(id, kIpcSet, owner_, {1000, 100, 0640}), 0);
  EXPECT_EQ(StatOrDie(id).perm.mode, kShmLocked | 0640u);
}

// --- IPC_RMID

TEST_F(ShmRegistryTest, IpcRmidOfAnUnattachedSegmentDestroysItNow) {
  const int32_t id = Create(kKey, 8192, 0600);
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  ASSERT_EQ(backing_.destroyed.size(), 1u);
  EXPECT_EQ(backing_.destroyed[0], (FakeBacking::Segment{IpcIdIndex(id), IpcIdSeq(id), 0}));
  EXPECT_EQ(CtlErrno(id, kIpcStat, root_), EINVAL);
  EXPECT_EQ(CtlErrno(id, kIpcRmid, owner_), EINVAL);
  EXPECT_EQ(ErrnoOf(Get(kKey, 0, 0600).status()), ENOENT);
  EXPECT_EQ(shm().total_pages(), 0u);
  EXPECT_EQ(ids().in_use(), 0);
}

TEST_F(ShmRegistryTest, IpcRmidByAStrangerFailsWithEperm) {
  const int32_t id = Create(kKey, 4096, 0666);
  EXPECT_EQ(CtlErrno(id, kIpcRmid, stranger_), EPERM);
  EXPECT_TRUE(backing_.destroyed.empty());
  EXPECT_EQ(CtlErrno(id, kIpcRmid, root_), 0);
  EXPECT_EQ(backing_.destroyed.size(), 1u);
}

TEST_F(ShmRegistryTest, IpcRmidOfAnAttachedSegmentMarksItAndDropsItsKey) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& process = Spawn(300);
  process.Attach(id, kNowNs);

  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  EXPECT_TRUE(backing_.destroyed.empty());
  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.perm.mode, kShmDest | 0600u);
  EXPECT_EQ(stat.perm.key, kIpcPrivate);
  EXPECT_EQ(stat.nattch, 1u);
  EXPECT_EQ(ErrnoOf(Get(kKey, 0, 0600).status()), ENOENT);
  // A removed segment is never attached on the fast path: only the daemon
  // knows whether its last attachment is gone (and so whether it still exists).
  EXPECT_EQ(*CheckFastAttach(ids().table(), id, 0, owner_), FastAttachVerdict::kAskDaemon);

  // The key is free for a new segment.
  const int32_t fresh = Create(kKey, 4096, 0600);
  EXPECT_NE(fresh, id);
  EXPECT_EQ(shm().total_pages(), 2u);

  // The last detach alone destroys nothing; the next sweep does.
  process.Detach(id, kNowNs + kNanos);
  EXPECT_TRUE(backing_.destroyed.empty());
  shm().SweepRemoved();
  ASSERT_EQ(backing_.destroyed.size(), 1u);
  EXPECT_EQ(backing_.destroyed[0].index, IpcIdIndex(id));
  EXPECT_EQ(backing_.destroyed[0].seq, IpcIdSeq(id));
  EXPECT_EQ(CtlErrno(id, kIpcStat, root_), EINVAL);
  EXPECT_EQ(shm().total_pages(), 1u);
  EXPECT_EQ(*Get(kKey, 0, 0600), fresh);
}

TEST_F(ShmRegistryTest, ARemovedSegmentIsSweptBeforeTheNextRequestIsAnswered) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& process = Spawn(300);
  process.Attach(id, kNowNs);
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  process.Detach(id, kNowNs);
  // Any shmctl sweeps first, so the caller never sees the dead segment.
  absl::StatusOr<ShmCtlResult> info = Ctl(0, kShmInfo, owner_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->usage.used_ids, 0);
  EXPECT_EQ(backing_.destroyed.size(), 1u);
}

TEST_F(ShmRegistryTest, ARemovedSegmentCanStillBeAttachedById) {
  // Linux lets a process attach an IPC_RMID'd segment while it still exists.
  const int32_t id = Create(kKey, 4096, 0600);
  Spawn(300).Attach(id, kNowNs);
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  absl::StatusOr<ObjectRecord> record = shm().CheckAttach(id, 0, OpContext{owner_, kNowNs});
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->perm.mode & kShmDest, kShmDest);
}

TEST_F(ShmRegistryTest, IpcRmidTwiceOfAnAttachedSegmentIsHarmless) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& process = Spawn(300);
  process.Attach(id, kNowNs);
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  process.Detach(id, kNowNs);
  shm().SweepRemoved();
  EXPECT_EQ(backing_.destroyed.size(), 1u);
}

// --- process exit: AbsorbLedger

TEST_F(ShmRegistryTest, AbsorbLedgerSetsDtimeAndLpidOfAStillAttachedSegment) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& process = Spawn(300);
  process.Attach(id, 1000 * kNanos);
  census_.Remove(&process);  // the process died
  shm().AbsorbLedger(process.ledger(), process.grants(), process.pid(), 2000 * kNanos);

  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.nattch, 0u);
  EXPECT_EQ(stat.atime, 1000);
  EXPECT_EQ(stat.dtime, 2000);
  EXPECT_EQ(stat.lpid, 300);
  EXPECT_TRUE(backing_.destroyed.empty());
}

TEST_F(ShmRegistryTest, AbsorbLedgerKeepsTheDetachTimeOfAProcessThatDetachedBeforeDying) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& process = Spawn(300);
  process.Attach(id, 1000 * kNanos);
  process.Detach(id, 1500 * kNanos);
  census_.Remove(&process);
  shm().AbsorbLedger(process.ledger(), process.grants(), process.pid(), 2000 * kNanos);
  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.atime, 1000);
  EXPECT_EQ(stat.dtime, 1500);
  EXPECT_EQ(stat.lpid, 300);
}

TEST_F(ShmRegistryTest, LpidNamesALiveProcessWhoseEventIsLaterThanTheAbsorbedOnes) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& dead = Spawn(300);
  FakeProcess& alive = Spawn(301);
  dead.Attach(id, 1000 * kNanos);
  alive.Attach(id, 3000 * kNanos);
  census_.Remove(&dead);
  shm().AbsorbLedger(dead.ledger(), dead.grants(), dead.pid(), 2000 * kNanos);
  ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.nattch, 1u);
  EXPECT_EQ(stat.atime, 3000);
  EXPECT_EQ(stat.dtime, 2000);
  EXPECT_EQ(stat.lpid, 301);
}

TEST_F(ShmRegistryTest, AbsorbLedgerDestroysARemovedSegmentLeftUnattached) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& process = Spawn(300);
  process.Attach(id, kNowNs);
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  ASSERT_TRUE(backing_.destroyed.empty());

  census_.Remove(&process);
  shm().AbsorbLedger(process.ledger(), process.grants(), process.pid(), kNowNs + kNanos);
  ASSERT_EQ(backing_.destroyed.size(), 1u);
  EXPECT_EQ(backing_.destroyed[0].index, IpcIdIndex(id));
  EXPECT_EQ(CtlErrno(id, kIpcStat, root_), EINVAL);
  EXPECT_EQ(shm().total_pages(), 0u);
}

TEST_F(ShmRegistryTest, AbsorbLedgerKeepsARemovedSegmentOthersStillAttach) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& dying = Spawn(300);
  FakeProcess& staying = Spawn(301);
  dying.Attach(id, kNowNs);
  staying.Attach(id, kNowNs);
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  census_.Remove(&dying);
  shm().AbsorbLedger(dying.ledger(), dying.grants(), dying.pid(), kNowNs + kNanos);
  EXPECT_TRUE(backing_.destroyed.empty());
  EXPECT_EQ(StatOrDie(id).nattch, 1u);
}

TEST_F(ShmRegistryTest, AbsorbLedgerIgnoresEntriesOfAnotherSeq) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& process = Spawn(300);
  // A scribbled (or stale) entry: same index, another seq.
  ASSERT_TRUE(process.ledger().RecordAttach(IpcIdIndex(id), IpcIdSeq(id) + 7, 1000 * kNanos));
  census_.Remove(&process);
  shm().AbsorbLedger(process.ledger(), process.grants(), process.pid(), 2000 * kNanos);
  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.atime, 0);
  EXPECT_EQ(stat.dtime, 0);
  EXPECT_EQ(stat.lpid, 0);
}

// A ledger's entries for a segment its process was never granted are
// claims: neither folded at exit nor counted (issue #13).
TEST_F(ShmRegistryTest, AbsorbLedgerIgnoresSegmentsTheProcessWasNotGranted) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& forger = Spawn(300);
  ASSERT_TRUE(forger.ledger().RecordAttach(IpcIdIndex(id), IpcIdSeq(id), 1000 * kNanos));
  EXPECT_EQ(StatOrDie(id).nattch, 0u);
  census_.Remove(&forger);
  shm().AbsorbLedger(forger.ledger(), forger.grants(), forger.pid(), 2000 * kNanos);
  const ShmStat stat = StatOrDie(id);
  EXPECT_EQ(stat.atime, 0);
  EXPECT_EQ(stat.dtime, 0);
  EXPECT_EQ(stat.lpid, 0);
}

TEST_F(ShmRegistryTest, ARemovedSegmentIsDestroyedDespiteUngrantedClaims) {
  const int32_t id = Create(kKey, 4096, 0600);
  FakeProcess& owner = Spawn(300);
  FakeProcess& forger = Spawn(301);
  owner.Attach(id, kNowNs);
  ASSERT_TRUE(forger.ledger().CountAttach(IpcIdIndex(id), IpcIdSeq(id)));
  ASSERT_EQ(CtlErrno(id, kIpcRmid, owner_), 0);
  owner.Detach(id, kNowNs);
  shm().SweepRemoved();
  ASSERT_EQ(backing_.destroyed.size(), 1u);
  // Destroyed: every grant of it is forgotten.
  ASSERT_EQ(census_.forgotten.size(), 1u);
  EXPECT_EQ(census_.forgotten[0], std::make_pair(IpcIdIndex(id), IpcIdSeq(id)));
  EXPECT_FALSE(owner.grants().Holds(IpcIdIndex(id), IpcIdSeq(id)));
}

// --- SHM_LOCK, SHM_UNLOCK

TEST_F(ShmRegistryTest, ShmLockByAStrangerFailsWithEperm) {
  const int32_t id = Create(kKey, 4096, 0666);
  EXPECT_EQ(CtlErrno(id, kShmLock, stranger_), EPERM);
  EXPECT_EQ(CtlErrno(id, kShmUnlock, stranger_), EPERM);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0666u);
}

TEST_F(ShmRegistryTest, ShmLockWithAZeroMemlockLimitFailsWithEpermForNonRoot) {
  const int32_t id = Create(kKey, 4096, 0600);
  EXPECT_EQ(CtlErrno(id, kShmLock, owner_, {}, /*memlock=*/0), EPERM);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0600u);
  // Unlocking needs no RLIMIT_MEMLOCK.
  EXPECT_EQ(CtlErrno(id, kShmUnlock, owner_, {}, /*memlock=*/0), 0);
}

TEST_F(ShmRegistryTest, RootLocksAnySegmentWhateverItsMemlockLimit) {
  const int32_t id = Create(kKey, 1 << 20, 0600);
  EXPECT_EQ(CtlErrno(id, kShmLock, root_, {}, /*memlock=*/0), 0);
  EXPECT_EQ(StatOrDie(id).perm.mode, kShmLocked | 0600u);
  EXPECT_EQ(CtlErrno(id, kShmUnlock, root_, {}, /*memlock=*/0), 0);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0600u);
}

TEST_F(ShmRegistryTest, ShmLockSetsAndShmUnlockClearsTheLockedBit) {
  const int32_t id = Create(kKey, 4096, 0600);
  ASSERT_EQ(CtlErrno(id, kShmLock, owner_), 0);
  EXPECT_EQ(StatOrDie(id).perm.mode, kShmLocked | 0600u);
  ASSERT_EQ(CtlErrno(id, kShmLock, owner_), 0);
  EXPECT_EQ(StatOrDie(id).perm.mode, kShmLocked | 0600u);
  ASSERT_EQ(CtlErrno(id, kShmUnlock, owner_), 0);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0600u);
  ASSERT_EQ(CtlErrno(id, kShmUnlock, owner_), 0);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0600u);
}

TEST_F(ShmRegistryTest, ShmLockIsAllowedToTheCreatorAfterAnOwnershipChange) {
  const int32_t id = Create(kKey, 4096, 0600);
  ASSERT_EQ(CtlErrno(id, kIpcSet, owner_, {2000, 200, 0600}), 0);
  EXPECT_EQ(CtlErrno(id, kShmLock, owner_), 0);
  EXPECT_EQ(CtlErrno(id, kShmUnlock, stranger_), 0);
}

TEST_F(ShmRegistryTest, ShmLockBeyondTheMemlockLimitFailsWithEnomem) {
  const int32_t id = Create(kKey, 8192, 0600);
  EXPECT_EQ(CtlErrno(id, kShmLock, owner_, {}, /*memlock=*/8191), ENOMEM);
  EXPECT_EQ(StatOrDie(id).perm.mode, 0600u);
  EXPECT_EQ(CtlErrno(id, kShmLock, owner_, {}, /*memlock=*/8192), 0);
}

TEST_F(ShmRegistryTest, ShmLockOfAnUnknownIdFailsWithEinval) {
  EXPECT_EQ(CtlErrno(3, kShmLock, root_), EINVAL);
  EXPECT_EQ(CtlErrno(3, kShmUnlock, root_), EINVAL);
}

// --- bad arguments

TEST_F(ShmRegistryTest, NegativeCommandOrIdFailsWithEinval) {
  const int32_t id = Create(kKey, 4096, 0600);
  for (int cmd : {kIpcRmid, kIpcSet, kIpcStat, kIpcInfo, kShmLock, kShmUnlock, kShmStat, kShmInfo,
                  kShmStatAny}) {
    EXPECT_EQ(CtlErrno(-1, cmd, root_), EINVAL) << cmd;
    EXPECT_EQ(CtlErrno(INT32_MIN, cmd, root_), EINVAL) << cmd;
  }
  EXPECT_EQ(CtlErrno(id, -1, root_), EINVAL);
  EXPECT_EQ(CtlErrno(id, INT32_MIN, root_), EINVAL);
  EXPECT_TRUE(backing_.destroyed.empty());
}

TEST_F(ShmRegistryTest, UnknownCommandFailsWithEinval) {
  const int32_t id = Create(kKey, 4096, 0600);
  for (int cmd : {4, 5, 10, 16, 100, INT32_MAX}) {
    EXPECT_EQ(CtlErrno(id, cmd, root_), EINVAL) << cmd;
  }
}

// --- shmat checks

TEST_F(ShmRegistryTest, CheckAttachReadOnlyNeedsOnlyReadPermission) {
  const int32_t id = Create(kKey, 4096, 0400);
  const OpContext ctx{owner_, kNowNs};
  EXPECT_TRUE(shm().CheckAttach(id, kShmRdonly, ctx).ok());
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(id, 0, ctx).status()), EACCES);
}

TEST_F(ShmRegistryTest, CheckAttachByDefaultNeedsReadAndWrite) {
  const OpContext ctx{owner_, kNowNs};
  const int32_t read_write = Create(kIpcPrivate, 4096, 0600);
  EXPECT_TRUE(shm().CheckAttach(read_write, 0, ctx).ok());
  const int32_t write_only = Create(kIpcPrivate, 4096, 0200);
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(write_only, 0, ctx).status()), EACCES);
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(write_only, kShmRdonly, ctx).status()), EACCES);
}

TEST_F(ShmRegistryTest, CheckAttachWithShmExecNeedsExecute) {
  const OpContext ctx{owner_, kNowNs};
  const int32_t rw = Create(kIpcPrivate, 4096, 0600);
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(rw, kShmExec, ctx).status()), EACCES);
  const int32_t rwx = Create(kIpcPrivate, 4096, 0700);
  EXPECT_TRUE(shm().CheckAttach(rwx, kShmExec, ctx).ok());
  const int32_t rx = Create(kIpcPrivate, 4096, 0500);
  EXPECT_TRUE(shm().CheckAttach(rx, kShmExec | kShmRdonly, ctx).ok());
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(rx, kShmExec, ctx).status()), EACCES);
}

TEST_F(ShmRegistryTest, CheckAttachUsesTheCallersClass) {
  const int32_t id = Create(kKey, 4096, 0640);
  EXPECT_TRUE(shm().CheckAttach(id, kShmRdonly, OpContext{member_, kNowNs}).ok());
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(id, 0, OpContext{member_, kNowNs}).status()), EACCES);
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(id, kShmRdonly, OpContext{stranger_, kNowNs}).status()),
            EACCES);
  EXPECT_TRUE(shm().CheckAttach(id, kShmExec, OpContext{root_, kNowNs}).ok());
}

TEST_F(ShmRegistryTest, CheckAttachOfABadIdFailsWithEinval) {
  const int32_t id = Create(kKey, 4096, 0666);
  const OpContext ctx{owner_, kNowNs};
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(-1, 0, ctx).status()), EINVAL);
  EXPECT_EQ(
      ErrnoOf(shm().CheckAttach(MakeIpcId(IpcIdSeq(id) + 1, IpcIdIndex(id)), 0, ctx).status()),
      EINVAL);
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(9, 0, ctx).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(shm().CheckAttach(MakeIpcId(0, kCapacity + 1), 0, ctx).status()), EINVAL);
}

TEST_F(ShmRegistryTest, CheckFastAttachGivesTheSameAnswersAsCheckAttach) {
  Rebuild(/*last_index=*/kCapacity - 1, /*last_seq=*/3);
  const Credentials* const callers[] = {&owner_, &member_, &stranger_, &root_};
  const int flag_sets[] = {0, kShmRdonly, kShmExec, kShmRdonly | kShmExec, kShmRnd | kShmRemap};
  std::vector<int32_t> ids_to_try;
  for (int mode : {0000, 0400, 0200, 0600, 0700, 0500, 0040, 0060, 0070, 0004, 0006, 0007}) {
    const int32_t id = Create(kIpcPrivate, 4096, mode);
    ids_to_try.push_back(id);
    ids_to_try.push_back(MakeIpcId(IpcIdSeq(id) + 1, IpcIdIndex(id)));  // stale
  }
  ids_to_try.push_back(IpcIdIndex(ids_to_try[0]));  // the bare index: seq 0
  ids_to_try.push_back(MakeIpcId(4, 40));           // a free index
  ids_to_try.push_back(MakeIpcId(0, kCapacity));    // outside the table
  ids_to_try.push_back(-1);
  ids_to_try.push_back(INT32_MIN);

  int attach = 0;
  int eacces = 0;
  int einval = 0;
  for (int32_t id : ids_to_try) {
    for (const Credentials* caller : callers) {
      for (int shmflg : flag_sets) {
        SCOPED_TRACE(testing::Message()
                     << "id " << id << " uid " << caller->uid << " shmflg " << shmflg);
        const absl::StatusOr<ObjectRecord> slow =
            shm().CheckAttach(id, shmflg, OpContext{*caller, kNowNs});
        const absl::StatusOr<FastAttachVerdict> fast =
            CheckFastAttach(ids().table(), id, shmflg, *caller);
        EXPECT_EQ(ErrnoOf(fast.status()), ErrnoOf(slow.status()));
        if (slow.ok() && fast.ok()) {
          EXPECT_EQ(*fast, FastAttachVerdict::kAttach);
          ++attach;
        } else if (ErrnoOf(slow.status()) == EACCES) {
          ++eacces;
        } else if (ErrnoOf(slow.status()) == EINVAL) {
          ++einval;
        }
      }
    }
  }
  // Every outcome was exercised.
  EXPECT_GT(attach, 0);
  EXPECT_GT(eacces, 0);
  EXPECT_GT(einval, 0);
}

TEST_F(ShmRegistryTest, CheckFastAttachAsksTheDaemonAboutADyingSegment) {
  const int32_t id = Create(kKey, 4096, 0600);
  ObjectRecord record = *ids().FindById(id);
  record.state = EntryState::kDying;
  ids().Update(IpcIdIndex(id), record);
  absl::StatusOr<FastAttachVerdict> verdict = CheckFastAttach(ids().table(), id, 0, owner_);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(*verdict, FastAttachVerdict::kAskDaemon);
  // Even a caller without permission is sent to the daemon, which decides.
  verdict = CheckFastAttach(ids().table(), id, 0, stranger_);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(*verdict, FastAttachVerdict::kAskDaemon);
  // A stale id is refused outright, as the daemon would.
  EXPECT_EQ(
      ErrnoOf(CheckFastAttach(ids().table(), MakeIpcId(IpcIdSeq(id) + 1, IpcIdIndex(id)), 0, owner_)
                  .status()),
      EINVAL);
}

TEST_F(ShmRegistryTest, CheckFastAttachAsksTheDaemonAboutATornEntry) {
  const int32_t id = Create(kKey, 4096, 0600);
  ObjectEntry& entry = RawEntry(IpcIdIndex(id));
  entry.version.store(entry.version.load() | 1);
  absl::StatusOr<FastAttachVerdict> verdict = CheckFastAttach(ids().table(), id, 0, owner_);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(*verdict, FastAttachVerdict::kAskDaemon);
}

// --- daemon restart

TEST_F(ShmRegistryTest, RestartRecoversTotalPagesAndPendingRemovals) {
  const int32_t removed = Create(kKey, 8192, 0600);
  const int32_t kept = Create(kOtherKey, 4096, 0600);
  FakeProcess& process = Spawn(300);
  process.Attach(removed, kNowNs);
  ASSERT_EQ(CtlErrno(removed, kIpcRmid, owner_), 0);

  Restart();
  EXPECT_EQ(shm().total_pages(), 3u);
  EXPECT_EQ(*Get(kOtherKey, 0, 0600), kept);
  EXPECT_EQ(ErrnoOf(Get(kKey, 0, 0600).status()), ENOENT);

  process.Detach(removed, kNowNs + kNanos);
  shm().SweepRemoved();
  ASSERT_EQ(backing_.destroyed.size(), 1u);
  EXPECT_EQ(backing_.destroyed[0].index, IpcIdIndex(removed));
  EXPECT_EQ(shm().total_pages(), 1u);
  // New ids continue after the restart rather than reusing removed's.
  const int32_t next = Create(kIpcPrivate, 4096, 0600);
  EXPECT_NE(next, removed);
  EXPECT_NE(next, kept);
}

}  // namespace
}  // namespace sysv::core

// Tests of the object table: layout validation, the per-entry seqlock, torn
// entry recovery, and concurrent readers against the single writer.
#include "core/ipc/object_table.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

// Zeroed, 8-byte aligned memory standing in for a mapped region file.
class Region {
 public:
  explicit Region(size_t bytes) : words_((bytes + 7) / 8, 0), bytes_(bytes) {}
  void* base() { return words_.data(); }
  size_t size() const { return bytes_; }
  ObjectEntry& entry(uint32_t index) {
    auto* entries =
        reinterpret_cast<ObjectEntry*>(static_cast<char*>(base()) + ObjectTableHeader::kSize);
    return entries[index];
  }

 private:
  std::vector<uint64_t> words_;
  size_t bytes_;
};

ObjectTable FormatOrDie(Region& region, uint32_t capacity, IpcKind kind = IpcKind::kShm) {
  absl::StatusOr<ObjectTable> table =
      ObjectTable::Format(region.base(), region.size(), kind, capacity);
  EXPECT_TRUE(table.ok()) << table.status();
  return *table;
}

// A record whose every field is different, so a field read from the wrong
// place shows.
ObjectRecord DistinctRecord() {
  ObjectRecord r;
  r.state = EntryState::kLive;
  r.perm.key = -559038737;  // 0xdeadbeef as key_t
  r.perm.uid = 1001;
  r.perm.gid = 1002;
  r.perm.cuid = 1003;
  r.perm.cgid = 1004;
  r.perm.mode = 01640;
  r.perm.seq = 1005;
  r.cpid = 1006;
  r.lpid = -1007;
  r.ctime = 1'700'000'001;
  r.atime = -1'700'000'002;
  r.dtime = INT64_MAX;
  r.last_op_ns = INT64_MIN;
  r.size = UINT64_MAX;
  r.aux0 = 0x0123456789abcdefULL;
  r.aux1 = 0xfedcba9876543210ULL;
  return r;
}

void ExpectRecordsEqual(const ObjectRecord& a, const ObjectRecord& b) {
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.perm.key, b.perm.key);
  EXPECT_EQ(a.perm.uid, b.perm.uid);
  EXPECT_EQ(a.perm.gid, b.perm.gid);
  EXPECT_EQ(a.perm.cuid, b.perm.cuid);
  EXPECT_EQ(a.perm.cgid, b.perm.cgid);
  EXPECT_EQ(a.perm.mode, b.perm.mode);
  EXPECT_EQ(a.perm.seq, b.perm.seq);
  EXPECT_EQ(a.cpid, b.cpid);
  EXPECT_EQ(a.lpid, b.lpid);
  EXPECT_EQ(a.ctime, b.ctime);
  EXPECT_EQ(a.atime, b.atime);
  EXPECT_EQ(a.dtime, b.dtime);
  EXPECT_EQ(a.last_op_ns, b.last_op_ns);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.aux0, b.aux0);
  EXPECT_EQ(a.aux1, b.aux1);
}

TEST(ObjectTableTest, FormatThenOpenSeesTheSameTable) {
  Region region(ObjectTableSize(8));
  ObjectTable formatted = FormatOrDie(region, 8, IpcKind::kSem);
  EXPECT_EQ(formatted.capacity(), 8u);
  EXPECT_EQ(formatted.kind(), IpcKind::kSem);
  EXPECT_EQ(formatted.header().last_index.load(), -1);
  EXPECT_EQ(formatted.header().last_seq.load(), 0u);

  absl::StatusOr<ObjectTable> opened =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kSem);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->capacity(), 8u);
  EXPECT_EQ(opened->kind(), IpcKind::kSem);
  for (int32_t i = 0; i < 8; ++i) {
    absl::StatusOr<ObjectRecord> record = opened->Read(i);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->state, EntryState::kFree);
  }
}

TEST(ObjectTableTest, WriteThroughOneViewIsReadThroughAnother) {
  Region region(ObjectTableSize(4));
  ObjectTable writer = FormatOrDie(region, 4);
  absl::StatusOr<ObjectTable> reader =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_TRUE(reader.ok());
  writer.Write(3, DistinctRecord());
  absl::StatusOr<ObjectRecord> record = reader->Read(3);
  ASSERT_TRUE(record.ok()) << record.status();
  ExpectRecordsEqual(*record, DistinctRecord());
}

TEST(ObjectTableTest, FormatRecordsTheNamespaceIdForClients) {
  Region region(ObjectTableSize(1));
  ASSERT_TRUE(ObjectTable::Format(region.base(), region.size(), IpcKind::kShm, 1,
                                  /*namespace_id=*/0x1234567890abcdefULL)
                  .ok());
  absl::StatusOr<ObjectTable> opened =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->header().namespace_id.load(), 0x1234567890abcdefULL);
}

TEST(ObjectTableTest, FormatRejectsARegionTooSmallForTheCapacity) {
  Region region(ObjectTableSize(4) - 1);
  absl::StatusOr<ObjectTable> table =
      ObjectTable::Format(region.base(), region.size(), IpcKind::kShm, 4);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(ErrnoOf(table.status()), EINVAL);
}

TEST(ObjectTableTest, FormatEmptiesAPreviouslyUsedRegion) {
  Region region(ObjectTableSize(2));
  ObjectTable first = FormatOrDie(region, 2);
  first.Write(1, DistinctRecord());
  ObjectTable second = FormatOrDie(region, 2);
  absl::StatusOr<ObjectRecord> record = second.Read(1);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state, EntryState::kFree);
  EXPECT_EQ(record->perm.key, 0);
}

TEST(ObjectTableTest, OpenRejectsARegionSmallerThanTheHeader) {
  Region region(ObjectTableSize(1));
  FormatOrDie(region, 1);
  absl::StatusOr<ObjectTable> table =
      ObjectTable::Open(region.base(), ObjectTableHeader::kSize - 1, IpcKind::kShm);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(ErrnoOf(table.status()), EINVAL);
}

TEST(ObjectTableTest, OpenRejectsUnformattedMemory) {
  Region region(ObjectTableSize(1));
  absl::StatusOr<ObjectTable> table =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(ErrnoOf(table.status()), EINVAL);
}

TEST(ObjectTableTest, OpenRejectsABadMagic) {
  Region region(ObjectTableSize(1));
  ObjectTable table = FormatOrDie(region, 1);
  table.header().magic.store(ObjectTableHeader::kMagic ^ 1);
  absl::StatusOr<ObjectTable> opened =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(ErrnoOf(opened.status()), EINVAL);
}

TEST(ObjectTableTest, OpenRejectsAnotherLayoutVersion) {
  Region region(ObjectTableSize(1));
  ObjectTable table = FormatOrDie(region, 1);
  table.header().layout_version.store(ObjectTableHeader::kVersion + 1);
  absl::StatusOr<ObjectTable> opened =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(ErrnoOf(opened.status()), EINVAL);
}

TEST(ObjectTableTest, OpenRejectsATableOfAnotherKind) {
  Region region(ObjectTableSize(1));
  FormatOrDie(region, 1, IpcKind::kMsg);
  for (IpcKind other : {IpcKind::kShm, IpcKind::kSem}) {
    absl::StatusOr<ObjectTable> opened = ObjectTable::Open(region.base(), region.size(), other);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(ErrnoOf(opened.status()), EINVAL);
  }
}

TEST(ObjectTableTest, OpenRejectsAForeignEntrySize) {
  Region region(ObjectTableSize(1));
  ObjectTable table = FormatOrDie(region, 1);
  table.header().entry_size.store(sizeof(ObjectEntry) / 2);
  absl::StatusOr<ObjectTable> opened =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(ErrnoOf(opened.status()), EINVAL);
}

TEST(ObjectTableTest, OpenRejectsACapacityLargerThanTheRegion) {
  Region region(ObjectTableSize(4));
  ObjectTable table = FormatOrDie(region, 4);
  table.header().capacity.store(5);
  absl::StatusOr<ObjectTable> opened =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(ErrnoOf(opened.status()), EINVAL);
  // So is a capacity no region could hold.
  table.header().capacity.store(UINT32_MAX);
  opened = ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(ErrnoOf(opened.status()), EINVAL);
}

TEST(ObjectTableTest, OpenRejectsACapacityAboveIpcMniEvenIfTheRegionHoldsIt) {
  const uint32_t too_many = static_cast<uint32_t>(kIpcMni) + 1;
  Region region(ObjectTableSize(too_many));
  ObjectTable table = FormatOrDie(region, 1);
  table.header().capacity.store(too_many);
  absl::StatusOr<ObjectTable> opened =
      ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(ErrnoOf(opened.status()), EINVAL);
}

TEST(ObjectTableTest, ReadOutsideTheTableFailsWithEinval) {
  Region region(ObjectTableSize(4));
  ObjectTable table = FormatOrDie(region, 4);
  for (int32_t index : {-1, 4, 5, INT32_MIN, INT32_MAX}) {
    absl::StatusOr<ObjectRecord> record = table.Read(index);
    ASSERT_FALSE(record.ok()) << index;
    EXPECT_EQ(ErrnoOf(record.status()), EINVAL) << index;
  }
}

TEST(ObjectTableTest, WriteThenReadReturnsEveryField) {
  Region region(ObjectTableSize(4));
  ObjectTable table = FormatOrDie(region, 4);
  table.Write(2, DistinctRecord());
  absl::StatusOr<ObjectRecord> record = table.Read(2);
  ASSERT_TRUE(record.ok()) << record.status();
  ExpectRecordsEqual(*record, DistinctRecord());
  // Neighbours are untouched.
  EXPECT_EQ(table.Read(1)->state, EntryState::kFree);
  EXPECT_EQ(table.Read(3)->state, EntryState::kFree);
}

TEST(ObjectTableTest, EachWriteAdvancesTheVersionByTwo) {
  Region region(ObjectTableSize(1));
  ObjectTable table = FormatOrDie(region, 1);
  EXPECT_EQ(region.entry(0).version.load(), 0u);
  table.Write(0, DistinctRecord());
  EXPECT_EQ(region.entry(0).version.load(), 2u);
  table.Write(0, ObjectRecord());
  EXPECT_EQ(region.entry(0).version.load(), 4u);
}

TEST(ObjectTableTest, ReadTreatsAnUnknownStateAsFree) {
  Region region(ObjectTableSize(1));
  ObjectTable table = FormatOrDie(region, 1);
  table.Write(0, DistinctRecord());
  region.entry(0).state.store(77);
  absl::StatusOr<ObjectRecord> record = table.Read(0);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state, EntryState::kFree);
}

TEST(ObjectTableTest, TornEntryFailsWithEagainUntilRepaired) {
  Region region(ObjectTableSize(4));
  ObjectTable table = FormatOrDie(region, 4);
  table.Write(1, DistinctRecord());
  // A daemon killed mid-write leaves the version odd.
  region.entry(1).version.store(region.entry(1).version.load() | 1);

  absl::StatusOr<ObjectRecord> record = table.Read(1);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(ErrnoOf(record.status()), EAGAIN);
  // Other entries stay readable.
  EXPECT_TRUE(table.Read(0).ok());

  EXPECT_EQ(table.RepairTornEntries(), 1);
  EXPECT_EQ(region.entry(1).version.load() % 2, 0u);
  record = table.Read(1);
  ASSERT_TRUE(record.ok()) << record.status();
  ExpectRecordsEqual(*record, DistinctRecord());
  EXPECT_EQ(table.RepairTornEntries(), 0);
}

TEST(ObjectTableTest, RepairCountsEveryTornEntry) {
  Region region(ObjectTableSize(5));
  ObjectTable table = FormatOrDie(region, 5);
  region.entry(0).version.store(1);
  region.entry(3).version.store(7);
  region.entry(4).version.store(UINT32_MAX);  // wraps to 0 when repaired
  EXPECT_EQ(table.RepairTornEntries(), 3);
  for (int32_t i = 0; i < 5; ++i) EXPECT_TRUE(table.Read(i).ok()) << i;
}

TEST(ObjectTableTest, WriteOverATornEntryLeavesItReadable) {
  Region region(ObjectTableSize(1));
  ObjectTable table = FormatOrDie(region, 1);
  region.entry(0).version.store(5);
  table.Write(0, DistinctRecord());
  EXPECT_EQ(region.entry(0).version.load() % 2, 0u);
  absl::StatusOr<ObjectRecord> record = table.Read(0);
  ASSERT_TRUE(record.ok()) << record.status();
  ExpectRecordsEqual(*record, DistinctRecord());
}

// Every field of the record is `n` (state aside), so a reader can tell a
// record mixed from two writes.
ObjectRecord UniformRecord(uint32_t n) {
  ObjectRecord r;
  r.state = EntryState::kLive;
  r.perm.key = static_cast<int32_t>(n);
  r.perm.uid = r.perm.gid = r.perm.cuid = r.perm.cgid = r.perm.mode = r.perm.seq = n;
  r.cpid = r.lpid = static_cast<int32_t>(n);
  r.ctime = r.atime = r.dtime = r.last_op_ns = n;
  r.size = r.aux0 = r.aux1 = n;
  return r;
}

// Returns a description of the first field that differs from perm.uid, or "".
std::string MixedField(const ObjectRecord& r) {
  const uint64_t n = r.perm.uid;
  const struct {
    const char* name;
    uint64_t value;
  } fields[] = {
      {"key", static_cast<uint32_t>(r.perm.key)},
      {"gid", r.perm.gid},
      {"cuid", r.perm.cuid},
      {"cgid", r.perm.cgid},
      {"mode", r.perm.mode},
      {"seq", r.perm.seq},
      {"cpid", static_cast<uint32_t>(r.cpid)},
      {"lpid", static_cast<uint32_t>(r.lpid)},
      {"ctime", static_cast<uint64_t>(r.ctime)},
      {"atime", static_cast<uint64_t>(r.atime)},
      {"dtime", static_cast<uint64_t>(r.dtime)},
      {"last_op_ns", static_cast<uint64_t>(r.last_op_ns)},
      {"size", r.size},
      {"aux0", r.aux0},
      {"aux1", r.aux1},
  };
  for (const auto& field : fields) {
    if (field.value != n) {
      return std::string(field.name) + "=" + std::to_string(field.value) +
             " uid=" + std::to_string(n);
    }
  }
  if (n != 0 && r.state != EntryState::kLive) return "state";
  return "";
}

TEST(ObjectTableTest, InfoIsUnknownUntilPublished) {
  Region region(ObjectTableSize(4));
  ObjectTable table = FormatOrDie(region, 4);
  EXPECT_FALSE(table.ReadInfo().has_value());
}

TEST(ObjectTableTest, PublishedInfoIsReadBackWhole) {
  Region region(ObjectTableSize(4));
  ObjectTable table = FormatOrDie(region, 4, IpcKind::kSem);
  TableInfo info;
  info.max_index = 3;
  info.in_use = 2;
  info.units = 7;
  info.limits[0] = 250;
  info.limits[3] = uint64_t{1} << 40;
  table.PublishInfo(info);
  std::optional<TableInfo> read = table.ReadInfo();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->max_index, 3);
  EXPECT_EQ(read->in_use, 2);
  EXPECT_EQ(read->units, 7u);
  EXPECT_EQ(read->limits[0], 250u);
  EXPECT_EQ(read->limits[3], uint64_t{1} << 40);
  // Withdrawn (a daemon restarting): unknown again.
  table.PublishInfo(std::nullopt);
  EXPECT_FALSE(table.ReadInfo().has_value());
}

TEST(ObjectTableTest, TornInfoIsUnknownUntilRepublished) {
  Region region(ObjectTableSize(4));
  ObjectTable table = FormatOrDie(region, 4);
  table.PublishInfo(TableInfo{});
  // A daemon killed mid-publication leaves the version odd.
  table.header().info_version.fetch_add(1);
  EXPECT_FALSE(table.ReadInfo().has_value());
  TableInfo info;
  info.in_use = 5;
  table.PublishInfo(info);
  std::optional<TableInfo> read = table.ReadInfo();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->in_use, 5);
}

TEST(ObjectTableTest, ConcurrentReadersNeverObserveAMixedRecord) {
  // The writer makes at least kMinWrites writes, and goes on until every
  // reader has seen kWantedOverlap different writes (or kMaxWriting passes),
  // so the threads really overlap even when the scheduler runs them in turn.
  constexpr uint32_t kMinWrites = 100'000;
  constexpr uint64_t kWantedOverlap = 100;
  constexpr auto kMaxWriting = std::chrono::seconds(5);
  constexpr int kReaders = 2;
  Region region(ObjectTableSize(4));
  ObjectTable writer_view = FormatOrDie(region, 4);

  std::atomic<bool> writer_done{false};
  std::atomic<uint32_t> last_written{0};
  std::atomic<int> readers_started{0};
  std::atomic<uint64_t> values_seen[kReaders] = {};
  std::thread writer([&] {
    while (readers_started.load() < kReaders) std::this_thread::yield();
    const auto deadline = std::chrono::steady_clock::now() + kMaxWriting;
    uint32_t n = 0;
    for (;;) {
      writer_view.Write(2, UniformRecord(++n));
      if (n < kMinWrites || n % 1024 != 0) continue;
      bool overlapped = true;
      for (const auto& seen : values_seen) overlapped = overlapped && seen.load() >= kWantedOverlap;
      if (overlapped || std::chrono::steady_clock::now() > deadline) break;
    }
    last_written.store(n);
    writer_done.store(true);
  });

  struct ReaderResult {
    uint64_t reads = 0;
    uint64_t busy = 0;
    uint64_t went_backwards = 0;
    uint32_t last_seen = 0;
    std::string first_mixed;
    int unexpected_errno = 0;
  };
  std::vector<ReaderResult> results(kReaders);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      // Each reader has its own view, as each client maps the table itself.
      absl::StatusOr<ObjectTable> view =
          ObjectTable::Open(region.base(), region.size(), IpcKind::kShm);
      ReaderResult& result = results[t];
      readers_started.fetch_add(1);
      if (!view.ok()) {
        result.unexpected_errno = ErrnoOf(view.status());
        return;
      }
      bool done = false;
      while (!done) {
        done = writer_done.load();  // one more read after the writer finishes
        absl::StatusOr<ObjectRecord> record = view->Read(2);
        if (!record.ok()) {
          // A reader may give up on an entry that stays busy; never anything else.
          if (ErrnoOf(record.status()) == EAGAIN) {
            ++result.busy;
          } else if (result.unexpected_errno == 0) {
            result.unexpected_errno = ErrnoOf(record.status());
          }
          continue;
        }
        ++result.reads;
        std::string mixed = MixedField(*record);
        if (!mixed.empty() && result.first_mixed.empty()) result.first_mixed = mixed;
        if (record->perm.uid < result.last_seen) ++result.went_backwards;
        if (record->perm.uid != result.last_seen) values_seen[t].fetch_add(1);
        result.last_seen = record->perm.uid;
      }
    });
  }
  writer.join();
  for (std::thread& reader : readers) reader.join();

  for (int t = 0; t < kReaders; ++t) {
    std::printf("reader %d: %llu reads, %llu distinct writes seen of %u, %llu gave up (EAGAIN)\n",
                t, static_cast<unsigned long long>(results[t].reads),
                static_cast<unsigned long long>(values_seen[t].load()), last_written.load(),
                static_cast<unsigned long long>(results[t].busy));
    SCOPED_TRACE(t);
    EXPECT_EQ(results[t].first_mixed, "");
    EXPECT_EQ(results[t].went_backwards, 0u);
    EXPECT_EQ(results[t].unexpected_errno, 0);
    // The read after the writer finished saw the last write.
    EXPECT_EQ(results[t].last_seen, last_written.load());
  }
  absl::StatusOr<ObjectRecord> final_record = writer_view.Read(2);
  ASSERT_TRUE(final_record.ok());
  ExpectRecordsEqual(*final_record, UniformRecord(last_written.load()));
}

}  // namespace
}  // namespace sysv::core

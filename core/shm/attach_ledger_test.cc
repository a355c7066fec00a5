// Tests of the per-process attach ledger: the client's updates, the daemon's
// clamped summaries, and header validation.
#include "core/shm/attach_ledger.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

constexpr int32_t kPid = 4242;

AttachLedger FormatOrDie(std::vector<std::byte>& memory, uint32_t capacity) {
  absl::StatusOr<AttachLedger> ledger =
      AttachLedger::Format(memory.data(), memory.size(), capacity, kPid);
  EXPECT_TRUE(ledger.ok()) << ledger.status();
  return *ledger;
}

AttachLedgerHeader& HeaderOf(std::vector<std::byte>& memory) {
  return *reinterpret_cast<AttachLedgerHeader*>(memory.data());
}

AttachLedgerEntry& EntryOf(std::vector<std::byte>& memory, uint32_t index) {
  return reinterpret_cast<AttachLedgerEntry*>(memory.data() + AttachLedgerHeader::kSize)[index];
}

class AttachLedgerTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kCapacity = 8;
  AttachLedgerTest()
      : memory_(AttachLedgerSize(kCapacity)), ledger_(FormatOrDie(memory_, kCapacity)) {}

  std::vector<std::byte> memory_;
  AttachLedger ledger_;
};

TEST_F(AttachLedgerTest, FreshLedgerSummarizesNothing) {
  EXPECT_EQ(ledger_.capacity(), kCapacity);
  const LedgerSummary summary = ledger_.Summarize(3, 0);
  EXPECT_EQ(summary.nattch, 0);
  EXPECT_EQ(summary.last_attach_ns, 0);
  EXPECT_EQ(summary.last_detach_ns, 0);
  EXPECT_EQ(HeaderOf(memory_).pid.load(), kPid);
}

TEST_F(AttachLedgerTest, AttachAndDetachAreCounted) {
  EXPECT_TRUE(ledger_.RecordAttach(2, 5, 1000));
  EXPECT_TRUE(ledger_.RecordAttach(2, 5, 2000));
  LedgerSummary summary = ledger_.Summarize(2, 5);
  EXPECT_EQ(summary.nattch, 2);
  EXPECT_EQ(summary.last_attach_ns, 2000);
  EXPECT_EQ(summary.last_detach_ns, 0);

  EXPECT_TRUE(ledger_.RecordDetach(2, 5, 3000));
  summary = ledger_.Summarize(2, 5);
  EXPECT_EQ(summary.nattch, 1);
  EXPECT_EQ(summary.last_attach_ns, 2000);
  EXPECT_EQ(summary.last_detach_ns, 3000);

  EXPECT_TRUE(ledger_.RecordDetach(2, 5, 4000));
  summary = ledger_.Summarize(2, 5);
  EXPECT_EQ(summary.nattch, 0);
  EXPECT_EQ(summary.last_detach_ns, 4000);
}

TEST_F(AttachLedgerTest, EntriesOfDifferentIndexesAreIndependent) {
  ASSERT_TRUE(ledger_.RecordAttach(0, 1, 10));
  ASSERT_TRUE(ledger_.RecordAttach(7, 1, 20));
  ASSERT_TRUE(ledger_.RecordAttach(7, 1, 30));
  EXPECT_EQ(ledger_.Summarize(0, 1).nattch, 1);
  EXPECT_EQ(ledger_.Summarize(7, 1).nattch, 2);
  EXPECT_EQ(ledger_.Summarize(1, 1).nattch, 0);
}

TEST_F(AttachLedgerTest, IndexOutsideTheLedgerIsRefused) {
  EXPECT_FALSE(ledger_.RecordAttach(-1, 0, 1));
  EXPECT_FALSE(ledger_.RecordAttach(kCapacity, 0, 1));
  EXPECT_FALSE(ledger_.RecordDetach(-1, 0, 1));
  EXPECT_FALSE(ledger_.RecordDetach(kCapacity, 0, 1));
  EXPECT_EQ(ledger_.Summarize(-1, 0).nattch, 0);
  EXPECT_EQ(ledger_.Summarize(kCapacity, 0).nattch, 0);
}

TEST_F(AttachLedgerTest, AttachUnderANewSeqRestartsTheEntry) {
  // Segment (3, seq 1) was destroyed and index 3 reused under seq 2.
  ASSERT_TRUE(ledger_.RecordAttach(3, 1, 100));
  ASSERT_TRUE(ledger_.RecordAttach(3, 1, 200));
  ASSERT_TRUE(ledger_.RecordDetach(3, 1, 300));
  ASSERT_TRUE(ledger_.RecordAttach(3, 2, 400));

  const LedgerSummary summary = ledger_.Summarize(3, 2);
  EXPECT_EQ(summary.nattch, 1);
  EXPECT_EQ(summary.last_attach_ns, 400);
  EXPECT_EQ(summary.last_detach_ns, 0);
  EXPECT_EQ(ledger_.Summarize(3, 1).nattch, 0);
}

TEST_F(AttachLedgerTest, DetachUnderAnotherSeqIsIgnored) {
  ASSERT_TRUE(ledger_.RecordAttach(4, 9, 100));
  EXPECT_FALSE(ledger_.RecordDetach(4, 8, 200));
  const LedgerSummary summary = ledger_.Summarize(4, 9);
  EXPECT_EQ(summary.nattch, 1);
  EXPECT_EQ(summary.last_detach_ns, 0);
}

TEST_F(AttachLedgerTest, SummarizeIgnoresAnEntryOfAnotherSeq) {
  ASSERT_TRUE(ledger_.RecordAttach(5, 3, 100));
  const LedgerSummary summary = ledger_.Summarize(5, 4);
  EXPECT_EQ(summary.nattch, 0);
  EXPECT_EQ(summary.last_attach_ns, 0);
  EXPECT_EQ(summary.last_detach_ns, 0);
}

TEST_F(AttachLedgerTest, MoreDetachesThanAttachesSummarizeAsZero) {
  ASSERT_TRUE(ledger_.RecordAttach(1, 0, 100));
  ASSERT_TRUE(ledger_.RecordDetach(1, 0, 200));
  ASSERT_TRUE(ledger_.RecordDetach(1, 0, 300));
  EXPECT_EQ(EntryOf(memory_, 1).count.load(), -1);
  EXPECT_EQ(ledger_.Summarize(1, 0).nattch, 0);
}

TEST_F(AttachLedgerTest, ScribbledNegativeValuesAreClampedToZero) {
  // A client may write anything into its own ledger.
  AttachLedgerEntry& entry = EntryOf(memory_, 6);
  entry.seq.store(11);
  entry.count.store(INT32_MIN);
  entry.last_attach_ns.store(-5);
  entry.last_detach_ns.store(INT64_MIN);
  const LedgerSummary summary = ledger_.Summarize(6, 11);
  EXPECT_EQ(summary.nattch, 0);
  EXPECT_EQ(summary.last_attach_ns, 0);
  EXPECT_EQ(summary.last_detach_ns, 0);

  entry.count.store(INT32_MAX);
  EXPECT_EQ(ledger_.Summarize(6, 11).nattch, INT32_MAX);
}

TEST_F(AttachLedgerTest, DetachAllDropsEveryAttachmentAndStampsTheTime) {
  ASSERT_TRUE(ledger_.RecordAttach(0, 1, 100));
  ASSERT_TRUE(ledger_.RecordAttach(0, 1, 110));
  ASSERT_TRUE(ledger_.RecordAttach(5, 2, 120));
  ASSERT_TRUE(ledger_.RecordAttach(6, 3, 130));
  ASSERT_TRUE(ledger_.RecordDetach(6, 3, 140));  // already detached

  ledger_.DetachAll(999);

  EXPECT_EQ(ledger_.Summarize(0, 1).nattch, 0);
  EXPECT_EQ(ledger_.Summarize(0, 1).last_detach_ns, 999);
  EXPECT_EQ(ledger_.Summarize(0, 1).last_attach_ns, 110);
  EXPECT_EQ(ledger_.Summarize(5, 2).nattch, 0);
  EXPECT_EQ(ledger_.Summarize(5, 2).last_detach_ns, 999);
  // An entry with nothing attached keeps its own detach time.
  EXPECT_EQ(ledger_.Summarize(6, 3).last_detach_ns, 140);
}

TEST_F(AttachLedgerTest, ForEachUsedVisitsEntriesWithAnythingRecorded) {
  ASSERT_TRUE(ledger_.RecordAttach(1, 4, 100));
  ASSERT_TRUE(ledger_.RecordAttach(3, 6, 200));
  ASSERT_TRUE(ledger_.RecordDetach(3, 6, 300));
  std::vector<std::tuple<int32_t, uint32_t, int64_t, int64_t>> seen;
  ledger_.ForEachUsed([&](int32_t index, uint32_t seq, const LedgerSummary& summary) {
    seen.emplace_back(index, seq, summary.nattch, summary.last_detach_ns);
  });
  EXPECT_EQ(seen, (std::vector<std::tuple<int32_t, uint32_t, int64_t, int64_t>>{{1, 4, 1, 0},
                                                                                {3, 6, 0, 300}}));
}

TEST_F(AttachLedgerTest, OpenSeesWhatTheOwnerRecorded) {
  ASSERT_TRUE(ledger_.RecordAttach(2, 7, 100));
  absl::StatusOr<AttachLedger> daemon_view = AttachLedger::Open(memory_.data(), memory_.size());
  ASSERT_TRUE(daemon_view.ok()) << daemon_view.status();
  EXPECT_EQ(daemon_view->capacity(), kCapacity);
  EXPECT_EQ(daemon_view->Summarize(2, 7).nattch, 1);
}

TEST(AttachLedgerOpenTest, RejectsARegionSmallerThanTheHeader) {
  std::vector<std::byte> memory(AttachLedgerSize(1));
  FormatOrDie(memory, 1);
  absl::StatusOr<AttachLedger> ledger =
      AttachLedger::Open(memory.data(), AttachLedgerHeader::kSize - 1);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ErrnoOf(ledger.status()), EINVAL);
}

TEST(AttachLedgerOpenTest, RejectsUnformattedMemory) {
  std::vector<std::byte> memory(AttachLedgerSize(1));
  absl::StatusOr<AttachLedger> ledger = AttachLedger::Open(memory.data(), memory.size());
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ErrnoOf(ledger.status()), EINVAL);
}

TEST(AttachLedgerOpenTest, RejectsABadMagic) {
  std::vector<std::byte> memory(AttachLedgerSize(1));
  FormatOrDie(memory, 1);
  HeaderOf(memory).magic.store(AttachLedgerHeader::kMagic + 1);
  absl::StatusOr<AttachLedger> ledger = AttachLedger::Open(memory.data(), memory.size());
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ErrnoOf(ledger.status()), EINVAL);
}

TEST(AttachLedgerOpenTest, RejectsAnotherLayoutVersion) {
  std::vector<std::byte> memory(AttachLedgerSize(1));
  FormatOrDie(memory, 1);
  HeaderOf(memory).layout_version.store(AttachLedgerHeader::kVersion + 1);
  absl::StatusOr<AttachLedger> ledger = AttachLedger::Open(memory.data(), memory.size());
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ErrnoOf(ledger.status()), EINVAL);
}

TEST(AttachLedgerOpenTest, RejectsACapacityAboveIpcMni) {
  std::vector<std::byte> memory(AttachLedgerSize(4));
  FormatOrDie(memory, 4);
  HeaderOf(memory).capacity.store(UINT32_MAX);
  absl::StatusOr<AttachLedger> ledger = AttachLedger::Open(memory.data(), memory.size());
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ErrnoOf(ledger.status()), EINVAL);
}

// A ledger file holds a prefix of its entries (the daemon grows it with its
// process's grants): nothing past what is mapped is ever touched.
TEST(AttachLedgerExtentTest, EntriesPastTheMappingAreNotTouched) {
  constexpr uint32_t kPerPage = AttachLedgerHeader::kSize / sizeof(AttachLedgerEntry);
  std::vector<std::byte> memory(AttachLedgerSize(2 * kPerPage));
  AttachLedger ledger =
      *AttachLedger::Format(memory.data(), AttachLedgerSize(kPerPage), 2 * kPerPage, kPid);
  EXPECT_EQ(ledger.capacity(), 2 * kPerPage);
  EXPECT_EQ(ledger.entries(), kPerPage);
  EXPECT_TRUE(ledger.CountAttach(kPerPage - 1, 1));
  EXPECT_FALSE(ledger.CountAttach(kPerPage, 1));
  EXPECT_EQ(EntryOf(memory, kPerPage).count.load(), 0);
  // A client's scribbled `entries` cannot widen the daemon's view.
  HeaderOf(memory).entries.store(UINT32_MAX);
  absl::StatusOr<AttachLedger> daemon_view = AttachLedger::Open(memory.data(), AttachLedgerSize(kPerPage));
  ASSERT_TRUE(daemon_view.ok()) << daemon_view.status();
  EXPECT_EQ(daemon_view->entries(), kPerPage);
  EXPECT_EQ(daemon_view->Summarize(kPerPage - 1, 1).nattch, 1);
}

TEST(AttachLedgerExtentTest, ExtendedKeepsEntriesAndPublishesTheNewOnes) {
  constexpr uint32_t kPerPage = AttachLedgerHeader::kSize / sizeof(AttachLedgerEntry);
  std::vector<std::byte> memory(AttachLedgerSize(2 * kPerPage));
  // The client maps the whole layout; the file holds one page of entries.
  AttachLedger daemon = *AttachLedger::Format(memory.data(), AttachLedgerSize(kPerPage), 2 * kPerPage, kPid);
  AttachLedger client = *AttachLedger::Open(memory.data(), memory.size());
  EXPECT_EQ(client.entries(), kPerPage);
  ASSERT_TRUE(client.CountAttach(3, 9));
  EXPECT_FALSE(client.CountAttach(kPerPage + 1, 9));
  daemon = daemon.Extended(memory.data(), memory.size());
  EXPECT_EQ(client.entries(), 2 * kPerPage);
  EXPECT_TRUE(client.CountAttach(kPerPage + 1, 9));
  EXPECT_EQ(daemon.Summarize(3, 9).nattch, 1);
  EXPECT_EQ(daemon.Summarize(kPerPage + 1, 9).nattch, 1);
}

TEST(AttachLedgerExtentTest, EntriesForAnIndexAreWholePagesUpToIt) {
  EXPECT_EQ(AttachLedgerEntriesFor(0, 32768), 128u);
  EXPECT_EQ(AttachLedgerEntriesFor(127, 32768), 128u);
  EXPECT_EQ(AttachLedgerEntriesFor(128, 32768), 256u);
  EXPECT_EQ(AttachLedgerEntriesFor(32767, 32768), 32768u);
  EXPECT_EQ(AttachLedgerEntriesFor(5, 8), 8u);
}

TEST(AttachLedgerFormatTest, RejectsARegionSmallerThanTheHeader) {
  std::vector<std::byte> memory(AttachLedgerHeader::kSize - 1);
  absl::StatusOr<AttachLedger> ledger = AttachLedger::Format(memory.data(), memory.size(), 4, kPid);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ErrnoOf(ledger.status()), EINVAL);
}

TEST(AttachLedgerFormatTest, RejectsACapacityAboveIpcMni) {
  const uint32_t too_many = static_cast<uint32_t>(kIpcMni) + 1;
  std::vector<std::byte> memory(AttachLedgerSize(too_many));
  absl::StatusOr<AttachLedger> ledger =
      AttachLedger::Format(memory.data(), memory.size(), too_many, kPid);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ErrnoOf(ledger.status()), EINVAL);
}

TEST(AttachLedgerFormatTest, FormatForgetsEarlierAttachments) {
  std::vector<std::byte> memory(AttachLedgerSize(2));
  AttachLedger first = FormatOrDie(memory, 2);
  ASSERT_TRUE(first.RecordAttach(1, 0, 100));
  AttachLedger second = FormatOrDie(memory, 2);
  EXPECT_EQ(second.Summarize(1, 0).nattch, 0);
}

}  // namespace
}  // namespace sysv::core

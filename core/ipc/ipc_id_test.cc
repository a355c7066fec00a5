// Tests of IPC id arithmetic and of the cyclic id allocator, against
// ipc/util.c:ipc_idr_alloc() and the ipcid_to_idx()/ipcid_to_seqx() macros.
#include "core/ipc/ipc_id.h"

#include <cstdint>
#include <optional>
#include <set>

#include "gtest/gtest.h"

namespace sysv::core {
namespace {

// An allocator driven over a set of used indexes, as the registry drives it:
// `in_use` is the number of used indexes and `limit` the table's bound.
class Slots {
 public:
  std::optional<IpcIdAllocator::Allocation> Allocate(int32_t limit) {
    auto allocation = allocator_.Allocate(static_cast<int32_t>(used_.size()), limit,
                                          [&](int32_t index) { return used_.count(index) != 0; });
    if (allocation) used_.insert(allocation->index);
    return allocation;
  }
  void Free(int32_t index) { used_.erase(index); }
  void MarkUsed(int32_t index) { used_.insert(index); }
  IpcIdAllocator& allocator() { return allocator_; }

 private:
  IpcIdAllocator allocator_;
  std::set<int32_t> used_;
};

TEST(IpcIdTest, MakeIpcIdPutsSeqAboveFifteenIndexBits) {
  EXPECT_EQ(MakeIpcId(0, 0), 0);
  EXPECT_EQ(MakeIpcId(0, 7), 7);
  EXPECT_EQ(MakeIpcId(1, 0), 32768);
  EXPECT_EQ(MakeIpcId(3, 5), 3 * 32768 + 5);
  EXPECT_EQ(IpcIdIndex(MakeIpcId(3, 5)), 5);
  EXPECT_EQ(IpcIdSeq(MakeIpcId(3, 5)), 3u);
}

TEST(IpcIdTest, LargestSeqAndIndexStillMakeAPositiveId) {
  const int32_t id = MakeIpcId(kIpcSeqMax, kIpcIdxMask);
  EXPECT_EQ(id, INT32_MAX);
  EXPECT_EQ(IpcIdIndex(id), kIpcIdxMask);
  EXPECT_EQ(IpcIdSeq(id), kIpcSeqMax);
}

TEST(IpcIdTest, NegativeIdKeepsItsLowBitsAsIndex) {
  EXPECT_EQ(IpcIdIndex(-1), kIpcIdxMask);
  EXPECT_EQ(IpcIdIndex(INT32_MIN), 0);
  EXPECT_EQ(IpcIdIndex(INT32_MIN + 5), 5);
  EXPECT_EQ(IpcIdIndex(-32768), 0);
}

TEST(IpcIdTest, NegativeIdHasASeqNoObjectCanHave) {
  // The kernel shifts the signed id (giving a negative seqx); either way a
  // negative id's seq never equals an allocated one, which ipc_checkid() needs.
  for (int32_t id : {-1, -2, -32768, -32769, INT32_MIN, INT32_MIN + 5}) {
    EXPECT_GT(IpcIdSeq(id), kIpcSeqMax) << "id " << id;
  }
}

TEST(IpcIdAllocatorTest, FreshAllocatorHandsOutZeroOneTwo) {
  Slots slots;
  for (int32_t expected = 0; expected < 3; ++expected) {
    auto allocation = slots.Allocate(64);
    ASSERT_TRUE(allocation.has_value());
    EXPECT_EQ(allocation->index, expected);
    EXPECT_EQ(allocation->seq, 0u);
    EXPECT_EQ(allocation->id(), expected);
  }
  EXPECT_EQ(slots.allocator().last_index(), 2);
  EXPECT_EQ(slots.allocator().seq(), 0u);
}

TEST(IpcIdAllocatorTest, FreedIndexIsNotReusedBeforeTheCycleWraps) {
  Slots slots;
  ASSERT_EQ(slots.Allocate(8)->index, 0);
  ASSERT_EQ(slots.Allocate(8)->index, 1);
  slots.Free(0);
  slots.Free(1);
  auto allocation = slots.Allocate(8);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 2);
  EXPECT_EQ(allocation->seq, 0u);
}

TEST(IpcIdAllocatorTest, CyclicAllocationSkipsUsedIndexes) {
  Slots slots;
  ASSERT_EQ(slots.Allocate(8)->index, 0);
  slots.MarkUsed(1);
  slots.MarkUsed(2);
  auto allocation = slots.Allocate(8);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 3);
  EXPECT_EQ(allocation->seq, 0u);
}

TEST(IpcIdAllocatorTest, WrappingTheCycleIncrementsSeq) {
  Slots slots;
  for (int32_t i = 0; i < 4; ++i) ASSERT_EQ(slots.Allocate(4)->index, i);
  for (int32_t i = 0; i < 4; ++i) slots.Free(i);
  auto allocation = slots.Allocate(4);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 0);
  EXPECT_EQ(allocation->seq, 1u);
  EXPECT_EQ(allocation->id(), 32768);
  // Further indexes above the last one keep the new seq.
  allocation = slots.Allocate(4);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 1);
  EXPECT_EQ(allocation->seq, 1u);
}

TEST(IpcIdAllocatorTest, WrapSkipsUsedIndexesAndStillIncrementsSeq) {
  Slots slots;
  for (int32_t i = 0; i < 4; ++i) ASSERT_EQ(slots.Allocate(4)->index, i);
  slots.Free(2);  // 0, 1 and 3 stay used; 2 is at or below the last index
  auto allocation = slots.Allocate(4);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 2);
  EXPECT_EQ(allocation->seq, 1u);
}

TEST(IpcIdAllocatorTest, ReallocatingTheLastIndexIncrementsSeq) {
  // "idx <= ids->last_idx": equality counts as a wrap.
  Slots slots;
  ASSERT_EQ(slots.Allocate(1)->index, 0);
  slots.Free(0);
  auto allocation = slots.Allocate(1);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 0);
  EXPECT_EQ(allocation->seq, 1u);
}

TEST(IpcIdAllocatorTest, SeqWrapsToZeroWhenItReachesSeqMax) {
  // ipc_idr_alloc(): "ids->seq++; if (ids->seq >= ipcid_seq_max()) ids->seq = 0;"
  // so Linux never hands out seq IPCID_SEQ_MAX itself.
  IpcIdAllocator allocator(/*last_index=*/3, /*seq=*/kIpcSeqMax - 1);
  auto allocation = allocator.Allocate(0, 4, [](int32_t) { return false; });
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 0);
  EXPECT_EQ(allocation->seq, 0u);
  EXPECT_EQ(allocation->id(), 0);
}

TEST(IpcIdAllocatorTest, SeqBelowSeqMaxIsHandedOut) {
  IpcIdAllocator allocator(/*last_index=*/3, /*seq=*/kIpcSeqMax - 2);
  auto allocation = allocator.Allocate(0, 4, [](int32_t) { return false; });
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->seq, kIpcSeqMax - 1);
  EXPECT_GT(allocation->id(), 0);
}

TEST(IpcIdAllocatorTest, RestoredAllocatorContinuesAfterItsLastIndex) {
  IpcIdAllocator allocator(/*last_index=*/5, /*seq=*/7);
  auto allocation = allocator.Allocate(0, 4096, [](int32_t) { return false; });
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 6);
  EXPECT_EQ(allocation->seq, 7u);
  EXPECT_EQ(allocation->id(), MakeIpcId(7, 6));
}

TEST(IpcIdAllocatorTest, LastIndexBeyondTheRangeRestartsTheCycleAtZero) {
  // idr_alloc_cyclic(): a cursor at or past `end` finds nothing and retries
  // from `start`, so a shrunken range restarts at index 0 (and the seq
  // advances because 0 <= last_idx).
  IpcIdAllocator allocator(/*last_index=*/100, /*seq=*/2);
  auto allocation =
      allocator.Allocate(/*in_use=*/1, /*limit=*/4096, [](int32_t index) { return index == 0; });
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->index, 1);
  EXPECT_EQ(allocation->seq, 3u);
}

TEST(IpcIdAllocatorTest, CycleSpansSixtyFourIndexesWhenFewAreInUse) {
  // ipc_idr_alloc(): max_idx = max(in_use * 3 / 2, ipc_min_cycle), with
  // ipc_min_cycle = RADIX_TREE_MAP_SIZE = 64, however large the table.
  Slots slots;
  for (int32_t i = 0; i < 64; ++i) {
    auto allocation = slots.Allocate(4096);
    ASSERT_TRUE(allocation.has_value());
    ASSERT_EQ(allocation->id(), i);
    slots.Free(allocation->index);
  }
  auto allocation = slots.Allocate(4096);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->id(), MakeIpcId(1, 0));
}

TEST(IpcIdAllocatorTest, CycleWidensToThreeHalvesOfTheIndexesInUse) {
  Slots slots;
  for (int32_t i = 0; i < 50; ++i) ASSERT_EQ(slots.Allocate(4096)->index, i);
  // With 50 in use the cycle spans 75 indexes: 50..74, then a wrap.
  for (int32_t i = 50; i < 75; ++i) {
    auto allocation = slots.Allocate(4096);
    ASSERT_TRUE(allocation.has_value());
    ASSERT_EQ(allocation->id(), i);
    slots.Free(allocation->index);
  }
  auto allocation = slots.Allocate(4096);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->id(), MakeIpcId(1, 50));
}

TEST(IpcIdAllocatorTest, LimitBelowTheMinimumCycleBoundsIt) {
  Slots slots;
  for (int32_t i = 0; i < 5; ++i) {
    auto allocation = slots.Allocate(5);
    ASSERT_TRUE(allocation.has_value());
    ASSERT_EQ(allocation->index, i);
    slots.Free(allocation->index);
  }
  auto allocation = slots.Allocate(5);
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(allocation->id(), MakeIpcId(1, 0));
}

TEST(IpcIdAllocatorTest, AllocateReturnsNulloptWhenEveryIndexIsUsed) {
  Slots slots;
  for (int32_t i = 0; i < 3; ++i) ASSERT_TRUE(slots.Allocate(3).has_value());
  EXPECT_FALSE(slots.Allocate(3).has_value());
  // A failed allocation moves nothing.
  EXPECT_EQ(slots.allocator().last_index(), 2);
  EXPECT_EQ(slots.allocator().seq(), 0u);
}

TEST(IpcIdAllocatorTest, AllocateReturnsNulloptForAnEmptyRange) {
  IpcIdAllocator allocator;
  EXPECT_FALSE(allocator.Allocate(0, 0, [](int32_t) { return false; }).has_value());
  EXPECT_FALSE(allocator.Allocate(0, -5, [](int32_t) { return false; }).has_value());
}

TEST(IpcIdAllocatorTest, RangeIsCappedAtIpcMni) {
  // 30000 in use would give a cycle of 45000 indexes; IPCMNI caps it.
  IpcIdAllocator allocator(/*last_index=*/kIpcMni - 1, /*seq=*/0);
  int32_t asked_beyond = 0;
  auto allocation = allocator.Allocate(30000, 2 * kIpcMni, [&](int32_t index) {
    if (index >= kIpcMni) ++asked_beyond;
    return false;
  });
  ASSERT_TRUE(allocation.has_value());
  EXPECT_EQ(asked_beyond, 0);
  EXPECT_EQ(allocation->index, 0);
  EXPECT_EQ(allocation->seq, 1u);
}

}  // namespace
}  // namespace sysv::core

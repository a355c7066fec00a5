#include "core/shm/shm_grants.h"

#include <cstddef>
#include <vector>

#include "gtest/gtest.h"

namespace sysv::core {
namespace {

constexpr uint32_t kCapacity = 8;

class LedgerMemory {
 public:
  LedgerMemory() : memory_(AttachLedgerSize(kCapacity)) {
    absl::StatusOr<AttachLedger> ledger = AttachLedger::Format(memory_.data(), memory_.size(), kCapacity, 42);
    EXPECT_TRUE(ledger.ok());
    ledger_.emplace(*ledger);
  }
  AttachLedger& ledger() { return *ledger_; }

 private:
  std::vector<std::byte> memory_;
  std::optional<AttachLedger> ledger_;
};

TEST(ShmGrantsTest, HoldsOnlyTheGrantedSegment) {
  ShmGrants grants;
  grants.Grant(3, 7, /*writable=*/false);
  EXPECT_TRUE(grants.Holds(3, 7));
  EXPECT_FALSE(grants.Holds(3, 8));
  EXPECT_FALSE(grants.Holds(4, 7));
}

TEST(ShmGrantsTest, TheSameSegmentKeepsTheWiderAccessAnotherSeqReplaces) {
  ShmGrants grants;
  grants.Grant(3, 7, /*writable=*/true);
  grants.Grant(3, 7, /*writable=*/false);
  ASSERT_TRUE(grants.At(3).has_value());
  EXPECT_TRUE(grants.At(3)->writable);
  grants.Grant(3, 9, /*writable=*/false);
  EXPECT_FALSE(grants.Holds(3, 7));
  EXPECT_TRUE(grants.Holds(3, 9));
  EXPECT_FALSE(grants.At(3)->writable);
  EXPECT_EQ(grants.size(), 1u);
}

TEST(ShmGrantsTest, RevokeForgetsOnlyThatSeq) {
  ShmGrants grants;
  grants.Grant(3, 7, false);
  grants.Revoke(3, 8);
  EXPECT_TRUE(grants.Holds(3, 7));
  grants.Revoke(3, 7);
  EXPECT_FALSE(grants.Holds(3, 7));
  EXPECT_EQ(grants.size(), 0u);
}

TEST(ShmGrantsTest, SummarizeReadsTheLedgerOnlyForGrantedSegments) {
  LedgerMemory memory;
  memory.ledger().RecordAttach(3, 7, 1000);
  memory.ledger().RecordAttach(5, 2, 2000);
  ShmGrants grants;
  grants.Grant(3, 7, false);
  EXPECT_EQ(grants.Summarize(memory.ledger(), 3, 7).nattch, 1);
  EXPECT_EQ(grants.Summarize(memory.ledger(), 3, 7).last_attach_ns, 1000);
  const LedgerSummary forged = grants.Summarize(memory.ledger(), 5, 2);
  EXPECT_EQ(forged.nattch, 0);
  EXPECT_EQ(forged.last_attach_ns, 0);
  EXPECT_EQ(forged.last_detach_ns, 0);
}

TEST(ShmGrantsTest, ClearForgetsEverything) {
  ShmGrants grants;
  grants.Grant(1, 1, true);
  grants.Grant(2, 1, false);
  grants.Clear();
  EXPECT_FALSE(grants.Holds(1, 1));
  EXPECT_EQ(grants.size(), 0u);
}

}  // namespace
}  // namespace sysv::core

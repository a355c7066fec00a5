#include "daemon/pending_exits.h"

#include <map>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace sysv::daemon {
namespace {

using Item = PendingExits::Item;

TEST(PendingExitsTest, OneRecordPerObjectAndProcess) {
  PendingExits pending;
  pending.Add(Item{3, 1, 100, 7});
  pending.Add(Item{3, 1, 100, 7});  // the same exit reported again
  pending.Add(Item{3, 1, 101, 7});
  pending.Add(Item{3, 2, 100, 7});  // a new object in the same slot
  EXPECT_EQ(pending.size(), 3u);
}

// A busy object costs one try per pass, whatever its number of records;
// the other objects' records are still done.
TEST(PendingExitsTest, BusyObjectIsTriedOncePerPass) {
  PendingExits pending;
  for (int32_t pid = 1; pid <= 100; ++pid) pending.Add(Item{5, 1, pid, 0});
  pending.Add(Item{9, 1, 1, 0});
  std::map<int32_t, int> tries;
  const bool progress = pending.Retry(
      [&](const Item& item) {
        ++tries[item.index];
        return item.index != 5;
      },
      kMaxBusyObjectsPerPass);
  EXPECT_TRUE(progress);
  EXPECT_EQ(tries[5], 1);
  EXPECT_EQ(tries[9], 1);
  EXPECT_EQ(pending.size(), 100u);
  // Free again: every record is done in one pass.
  EXPECT_TRUE(pending.Retry([](const Item&) { return true; }, kMaxBusyObjectsPerPass));
  EXPECT_TRUE(pending.empty());
}

// At most `max_objects` busy objects a pass; the next pass goes on from
// there, so every object gets its turn.
TEST(PendingExitsTest, PassesTakeBusyObjectsInTurn) {
  PendingExits pending;
  for (int32_t index = 0; index < 10; ++index) pending.Add(Item{index, 1, 1, 0});
  std::set<int32_t> tried;
  for (int pass = 0; pass < 4; ++pass) {
    std::vector<int32_t> this_pass;
    EXPECT_FALSE(pending.Retry(
        [&](const Item& item) {
          this_pass.push_back(item.index);
          return false;
        },
        3));
    EXPECT_EQ(this_pass.size(), 3u);
    tried.insert(this_pass.begin(), this_pass.end());
  }
  EXPECT_EQ(tried.size(), 10u);
  EXPECT_EQ(pending.size(), 10u);
}

}  // namespace
}  // namespace sysv::daemon

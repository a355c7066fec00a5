#include "core/sem/sem_checks.h"

#include <vector>

#include "core/ipc/ipc_constants.h"
#include "core/sem/sem_region.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

std::vector<std::pair<int, bool>> Pairs(const std::vector<SemOp>& sops) {
  std::vector<std::pair<int, bool>> pairs;
  for (const SemOp& sop : sops) pairs.emplace_back(sop.num, (sop.flg & kIpcNowait) != 0);
  return pairs;
}

TEST(DistinctWaitForZeroTest, KeepsTheFirstOfEachSemaphoreAndNowaitPairInOrder) {
  const int16_t nowait = kIpcNowait;
  const std::vector<SemOp> sops = {{3, 0, 0}, {1, 0, nowait}, {3, 0, 0},     {1, 0, 0},
                                   {1, 0, nowait}, {7, 0, 0}, {3, 0, nowait}, {7, 0, 0}};
  const std::vector<std::pair<int, bool>> expected = {{3, false}, {1, true}, {1, false}, {7, false}, {3, true}};
  EXPECT_EQ(Pairs(DistinctWaitForZero(sops)), expected);
}

// A multi-operation call stays one (the kernel queues it as a complex op).
TEST(DistinctWaitForZeroTest, NeverReducesSeveralOperationsToOne) {
  const std::vector<SemOp> sops(100, SemOp{5, 0, 0});
  const std::vector<std::pair<int, bool>> expected = {{5, false}, {5, false}};
  EXPECT_EQ(Pairs(DistinctWaitForZero(sops)), expected);
  EXPECT_EQ(DistinctWaitForZero(std::vector<SemOp>{{5, 0, 0}}).size(), 1u);
}

}  // namespace
}  // namespace sysv::core

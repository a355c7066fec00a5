#include "core/spin_budget.h"

#include "gtest/gtest.h"

namespace sysv::core {
namespace {

TEST(SpinBudgetTest, StartsAtTheMaximum) {
  SpinBudget budget(16, 400);
  EXPECT_EQ(budget.Get(), 400);
}

TEST(SpinBudgetTest, MissesShrinkItToTheMinimumWithinAFewDozenWaits) {
  SpinBudget budget(64, 4000);
  int misses = 0;
  while (budget.Get() > 64) {
    const int before = budget.Get();
    budget.Miss();
    ASSERT_LT(budget.Get(), before);
    ++misses;
  }
  EXPECT_EQ(budget.Get(), 64);
  EXPECT_LE(misses, 40);
  budget.Miss();
  EXPECT_EQ(budget.Get(), 64);
}

TEST(SpinBudgetTest, AHitDoublesItUpToTheMaximum) {
  SpinBudget budget(16, 400);
  for (int i = 0; i < 100; ++i) budget.Miss();
  ASSERT_EQ(budget.Get(), 16);
  budget.Hit();
  EXPECT_EQ(budget.Get(), 32);
  for (int i = 0; i < 10; ++i) budget.Hit();
  EXPECT_EQ(budget.Get(), 400);
}

TEST(SpinBudgetTest, ACopyKeepsTheLearnedValue) {
  SpinBudget budget(16, 400);
  budget.Miss();
  SpinBudget copy(budget);
  EXPECT_EQ(copy.Get(), budget.Get());
  copy.Miss();
  EXPECT_LT(copy.Get(), budget.Get());
  budget = copy;
  EXPECT_EQ(budget.Get(), copy.Get());
}

}  // namespace
}  // namespace sysv::core

#include "server/net/error_budget.hpp"

#include <gtest/gtest.h>

namespace newspush {
namespace {

using namespace std::chrono_literals;

TEST(ErrorBudget, AllowsCapacityThenRefuses) {
  ErrorBudget budget(3, 6s);
  ErrorBudget::Clock::time_point t{};
  EXPECT_TRUE(budget.spend(t));
  EXPECT_TRUE(budget.spend(t));
  EXPECT_TRUE(budget.spend(t));
  EXPECT_FALSE(budget.spend(t));
}

TEST(ErrorBudget, RefillsOneTokenPerPeriodUpToCapacity) {
  ErrorBudget budget(2, 6s);
  ErrorBudget::Clock::time_point t{};
  EXPECT_TRUE(budget.spend(t));
  EXPECT_TRUE(budget.spend(t));
  EXPECT_FALSE(budget.spend(t + 5s));
  EXPECT_TRUE(budget.spend(t + 6s));
  EXPECT_FALSE(budget.spend(t + 7s));
  // A long quiet spell refills to capacity, never beyond.
  EXPECT_TRUE(budget.spend(t + 600s));
  EXPECT_TRUE(budget.spend(t + 600s));
  EXPECT_FALSE(budget.spend(t + 600s));
}

}  // namespace
}  // namespace newspush

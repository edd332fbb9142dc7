#include "server/trending/view_limiter.hpp"

#include <gtest/gtest.h>

namespace newspush::trending {
namespace {

using Verdict = ViewLimiter::Verdict;
const ViewLimiter::Clock::time_point kStart{std::chrono::hours(1000)};

TEST(ViewLimiter, EachArticleCountsOncePerConnection) {
  ViewLimiter limiter;
  EXPECT_EQ(limiter.admit("a", kStart), Verdict::count);
  EXPECT_EQ(limiter.admit("a", kStart + std::chrono::hours(1)), Verdict::duplicate);
  EXPECT_EQ(limiter.admit("b", kStart), Verdict::count);
}

TEST(ViewLimiter, ABurstThenOnePerRefill) {
  ViewLimiter limiter;
  for (unsigned i = 0; i < ViewLimiter::kBurst; ++i)
    EXPECT_EQ(limiter.admit("a" + std::to_string(i), kStart), Verdict::count);
  EXPECT_EQ(limiter.admit("late", kStart), Verdict::rate_limited);
  // A refused view is not remembered: it may count later.
  EXPECT_EQ(limiter.admit("late", kStart + ViewLimiter::kRefillEvery), Verdict::count);
  EXPECT_EQ(limiter.admit("later", kStart + ViewLimiter::kRefillEvery), Verdict::rate_limited);
}

TEST(ViewLimiter, RemembersABoundedNumberOfArticles) {
  ViewLimiter limiter;
  auto now = kStart;
  for (std::size_t i = 0; i < ViewLimiter::kMaxRemembered; ++i) {
    now += ViewLimiter::kRefillEvery;
    ASSERT_EQ(limiter.admit("a" + std::to_string(i), now), Verdict::count);
  }
  now += std::chrono::hours(1);
  EXPECT_EQ(limiter.admit("one-more", now), Verdict::rate_limited);
  EXPECT_EQ(limiter.admit("a0", now), Verdict::duplicate);
}

}  // namespace
}  // namespace newspush::trending

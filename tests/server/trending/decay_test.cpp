#include "server/trending/decay.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace newspush::trending {
namespace {

constexpr std::int64_t kHour = 3600 * 1000;
constexpr std::int64_t kT0 = 1'795'000'000'000;  // the injected clock starts here
const DecayBase kBase{kT0, 2 * kHour};

TEST(Decay, AViewCountsOneNowAndHalfAfterAHalfLife) {
  EXPECT_DOUBLE_EQ(current_score(kBase, view_weight(kBase, kT0), kT0), 1.0);
  double stored = view_weight(kBase, kT0 + kHour);  // viewed at 1 h
  EXPECT_DOUBLE_EQ(current_score(kBase, stored, kT0 + kHour), 1.0);
  EXPECT_DOUBLE_EQ(current_score(kBase, stored, kT0 + 3 * kHour), 0.5);
  EXPECT_DOUBLE_EQ(current_score(kBase, stored, kT0 + 5 * kHour), 0.25);
}

TEST(Decay, RecentReadsOutrankOlderHeavierOnes) {
  // 10 views an hour ago against 8 in the last ten minutes.
  double hour_ago = 10 * view_weight(kBase, kT0);
  double just_now = 8 * view_weight(kBase, kT0 + kHour - 10 * 60 * 1000);
  std::int64_t now = kT0 + kHour;
  EXPECT_GT(current_score(kBase, just_now, now), current_score(kBase, hour_ago, now));
  EXPECT_NEAR(current_score(kBase, hour_ago, now), 10 / std::sqrt(2.0), 1e-9);
}

TEST(Decay, NoRebaseWhileStoredWeightsStaySmall) {
  EXPECT_FALSE(plan_rebase(kBase, kT0, kBase.half_life_ms));
  EXPECT_FALSE(plan_rebase(kBase, kT0 + 31 * kBase.half_life_ms, kBase.half_life_ms));
}

TEST(Decay, RebaseByWholeHalfLivesChangesNoScoreAndKeepsOrderAndTies) {
  std::int64_t now = kT0 + 40 * kBase.half_life_ms + 12345;
  auto rebase = plan_rebase(kBase, now, kBase.half_life_ms);
  ASSERT_TRUE(rebase);
  EXPECT_EQ(rebase->base.t0_ms, kT0 + 40 * kBase.half_life_ms);
  EXPECT_EQ(rebase->base.half_life_ms, kBase.half_life_ms);
  EXPECT_EQ(rebase->factor, std::ldexp(1.0, -40));

  // Stored scores of articles viewed at various times, two of them tied.
  std::vector<double> stored;
  for (std::int64_t t : {now - 5, now - kHour, now - kHour, now - 7 * kHour, now - 30 * kHour})
    stored.push_back(3 * view_weight(kBase, t));
  for (std::size_t i = 0; i < stored.size(); ++i) {
    double moved = stored[i] * rebase->factor;
    // A power of two scales exactly: the score readers see stays the same (up to the rounding of
    // the decay exponent), and order and ties below are kept bit for bit.
    double before = current_score(kBase, stored[i], now);
    EXPECT_NEAR(current_score(rebase->base, moved, now), before, before * 1e-12);
    EXPECT_EQ(moved / rebase->factor, stored[i]);
    for (std::size_t j = 0; j < stored.size(); ++j) {
      EXPECT_EQ(stored[i] < stored[j], moved < stored[j] * rebase->factor);
      EXPECT_EQ(stored[i] == stored[j], moved == stored[j] * rebase->factor);
    }
  }
  // After it, new views weigh about 1 again.
  EXPECT_LT(view_weight(rebase->base, now), 2.0);
}

TEST(Decay, ANewHalfLifeStartsNowWithoutAJump) {
  std::int64_t now = kT0 + 5 * kHour;
  double stored = view_weight(kBase, kT0 + kHour) + view_weight(kBase, kT0 + 4 * kHour);
  auto rebase = plan_rebase(kBase, now, kHour);
  ASSERT_TRUE(rebase);
  EXPECT_EQ(rebase->base, (DecayBase{now, kHour}));
  double moved = stored * rebase->factor;
  EXPECT_NEAR(current_score(rebase->base, moved, now), current_score(kBase, stored, now), 1e-12);
  // From now on it halves every hour.
  EXPECT_NEAR(current_score(rebase->base, moved, now + kHour), current_score(kBase, stored, now) / 2,
              1e-12);
}

TEST(Decay, ABaseForgottenForAgesStillRebasesWithAUsableFactor) {
  std::int64_t now = kT0 + 5000 * kBase.half_life_ms;  // over a year at 2 h
  auto rebase = plan_rebase(kBase, now, kBase.half_life_ms);
  ASSERT_TRUE(rebase);
  EXPECT_EQ(rebase->base.t0_ms, now);
  EXPECT_GT(rebase->factor, 0.0);
  EXPECT_LE(rebase->factor, std::ldexp(1.0, -1000));
  auto changed = plan_rebase(kBase, now, kHour);
  ASSERT_TRUE(changed);
  EXPECT_GT(changed->factor, 0.0);
  // A clock behind the base cannot ask to grow scores.
  EXPECT_LE(plan_rebase(kBase, kT0 - kHour, kHour)->factor, 1.0);
}

}  // namespace
}  // namespace newspush::trending

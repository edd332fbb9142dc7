#include "common/redis/backoff.hpp"

#include <gtest/gtest.h>

#include <set>

namespace newspush::redis {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, StaysWithinHalfToFullOfTheDoublingDelay) {
  Backoff backoff(milliseconds{100}, milliseconds{100000}, 42);
  milliseconds expected{100};
  for (int i = 0; i < 10; ++i) {
    milliseconds delay = backoff.next();
    EXPECT_GE(delay, expected / 2) << "attempt " << i;
    EXPECT_LE(delay, expected) << "attempt " << i;
    expected *= 2;
  }
  EXPECT_EQ(backoff.attempts(), 10u);
}

TEST(Backoff, IsCapped) {
  Backoff backoff(milliseconds{100}, milliseconds{1000}, 7);
  for (int i = 0; i < 200; ++i) {
    milliseconds delay = backoff.next();
    EXPECT_LE(delay, milliseconds{1000});
    if (i >= 4) {
      EXPECT_GE(delay, milliseconds{500});
    }
  }
}

TEST(Backoff, ResetStartsOver) {
  Backoff backoff(milliseconds{100}, milliseconds{5000}, 1);
  for (int i = 0; i < 8; ++i) backoff.next();
  backoff.reset();
  EXPECT_EQ(backoff.attempts(), 0u);
  EXPECT_LE(backoff.next(), milliseconds{100});
}

TEST(Backoff, JitterSpreadsNodesWithDifferentSeeds) {
  // Lock-step reconnects are what the jitter is for: different seeds must not all agree.
  std::set<milliseconds::rep> first_delays;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    Backoff backoff(milliseconds{1000}, milliseconds{5000}, seed);
    first_delays.insert(backoff.next().count());
  }
  EXPECT_GT(first_delays.size(), 5u);
}

TEST(Backoff, SameSeedIsDeterministic) {
  Backoff a(milliseconds{50}, milliseconds{5000}, 99);
  Backoff b(milliseconds{50}, milliseconds{5000}, 99);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.next(), b.next());
}

TEST(Backoff, ZeroInitialDelayIsZero) {
  Backoff backoff(milliseconds{0}, milliseconds{0}, 3);
  EXPECT_EQ(backoff.next(), milliseconds{0});
  EXPECT_EQ(backoff.next(), milliseconds{0});
}

TEST(Backoff, LongOutageDoesNotOverflow) {
  Backoff backoff(milliseconds{1}, milliseconds{30000}, 5);
  for (int i = 0; i < 10000; ++i) backoff.next();
  milliseconds delay = backoff.next();
  EXPECT_GE(delay, milliseconds{15000});
  EXPECT_LE(delay, milliseconds{30000});
}

}  // namespace
}  // namespace newspush::redis

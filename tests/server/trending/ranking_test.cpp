#include "server/trending/ranking.hpp"

#include <gtest/gtest.h>

namespace newspush::trending {
namespace {

constexpr std::int64_t kT0 = 1'795'000'000'000;
const DecayBase kBase{kT0, 7'200'000};

StoredEntry entry(std::string id, double stored, std::string title = "") {
  StoredEntry e;
  e.item.id = std::move(id);
  e.item.title = title.empty() ? "Titre " + e.item.id : std::move(title);
  e.item.category = "sports";
  e.stored = stored;
  return e;
}

std::vector<std::string> ids(const std::vector<protocol::TrendingItem>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.id);
  return out;
}

TEST(Ranking, BestFirstAndTiesByIdDescendingLikeRedis) {
  auto items = rank({entry("a", 2), entry("c", 5), entry("b", 5), entry("d", 1)}, kBase, kT0);
  EXPECT_EQ(ids(items), (std::vector<std::string>{"c", "b", "a", "d"}));
}

TEST(Ranking, ScoresAreDecayedToNow) {
  auto items = rank({entry("a", 4)}, kBase, kT0 + 2 * kBase.half_life_ms);
  EXPECT_DOUBLE_EQ(items[0].score, 1.0);
}

TEST(Ranking, OrderDoesNotDependOnTheInputOrder) {
  auto one = rank({entry("x", 3), entry("y", 3), entry("z", 4)}, kBase, kT0);
  auto two = rank({entry("y", 3), entry("z", 4), entry("x", 3)}, kBase, kT0);
  EXPECT_EQ(ids(one), ids(two));
}

TEST(Ranking, SignatureChangesWithIdsOrderTitlesButNotScores) {
  auto base = rank({entry("a", 3), entry("b", 2)}, kBase, kT0);
  auto later = rank({entry("a", 30), entry("b", 20)}, kBase, kT0);
  EXPECT_EQ(signature(base), signature(later));
  EXPECT_NE(signature(base), signature(rank({entry("a", 2), entry("b", 3)}, kBase, kT0)));
  EXPECT_NE(signature(base), signature(rank({entry("a", 3)}, kBase, kT0)));
  EXPECT_NE(signature(base), signature(rank({entry("a", 3, "Autre titre"), entry("b", 2)}, kBase, kT0)));
  EXPECT_NE(signature({}), signature(base));
  EXPECT_EQ(signature({}), "");
}

}  // namespace
}  // namespace newspush::trending

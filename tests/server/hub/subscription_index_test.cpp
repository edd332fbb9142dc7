#include "server/hub/subscription_index.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace newspush {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

struct Client {
  int id;
};

std::vector<int> recipients(const SubscriptionIndex<Client>& index, std::string_view category,
                            bool breaking = false) {
  std::vector<int> ids;
  auto n = index.for_each_recipient(category, breaking, [&](Client* c) { ids.push_back(c->id); });
  EXPECT_EQ(n, ids.size());
  return ids;
}

TEST(SubscriptionIndex, CategoryFiltering) {
  SubscriptionIndex<Client> index;
  Client a{1}, b{2}, c{3};
  for (auto* x : {&a, &b, &c}) index.add(x);
  index.subscribe(&a, "sports");
  index.subscribe(&b, "politique");
  index.subscribe(&b, "sports");
  EXPECT_THAT(recipients(index, "sports"), UnorderedElementsAre(1, 2));
  EXPECT_THAT(recipients(index, "politique"), ElementsAre(2));
  EXPECT_THAT(recipients(index, "culture"), ElementsAre());
}

TEST(SubscriptionIndex, BreakingReachesEveryConnectionOnce) {
  SubscriptionIndex<Client> index;
  Client a{1}, b{2}, c{3};
  for (auto* x : {&a, &b, &c}) index.add(x);
  index.subscribe(&a, "sports");
  index.subscribe(&b, "*");
  index.subscribe(&b, "sports");
  EXPECT_THAT(recipients(index, "sports", true), UnorderedElementsAre(1, 2, 3));
}

TEST(SubscriptionIndex, WildcardAndCategoryTogetherDeliverOnce) {
  SubscriptionIndex<Client> index;
  Client a{1};
  index.add(&a);
  index.subscribe(&a, "sports");
  index.subscribe(&a, "*");
  EXPECT_THAT(recipients(index, "sports"), ElementsAre(1));
  EXPECT_THAT(recipients(index, "culture"), ElementsAre(1));
  index.unsubscribe(&a, "*");
  EXPECT_THAT(recipients(index, "sports"), ElementsAre(1));
  EXPECT_THAT(recipients(index, "culture"), ElementsAre());
  EXPECT_THAT(index.categories_of(&a), ElementsAre("sports"));
}

TEST(SubscriptionIndex, SubscribeIsIdempotentAndSorted) {
  SubscriptionIndex<Client> index;
  Client a{1};
  index.add(&a);
  index.subscribe(&a, "sports");
  index.subscribe(&a, "culture");
  index.subscribe(&a, "sports");
  EXPECT_THAT(index.categories_of(&a), ElementsAre("culture", "sports"));
  EXPECT_THAT(recipients(index, "sports"), ElementsAre(1));
  index.unsubscribe(&a, "sports");
  index.unsubscribe(&a, "sports");
  EXPECT_THAT(recipients(index, "sports"), ElementsAre());
}

TEST(SubscriptionIndex, RemoveForgetsEverything) {
  SubscriptionIndex<Client> index;
  Client a{1}, b{2};
  index.add(&a);
  index.add(&b);
  index.subscribe(&a, "sports");
  index.subscribe(&b, "*");
  index.remove(&a);
  index.remove(&a);
  EXPECT_THAT(recipients(index, "sports"), ElementsAre(2));
  EXPECT_THAT(recipients(index, "sports", true), ElementsAre(2));
  index.remove(&b);
  EXPECT_TRUE(index.connections().empty());
  EXPECT_TRUE(index.listed_counts().empty());
}

}  // namespace
}  // namespace newspush

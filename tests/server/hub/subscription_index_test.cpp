#include "server/hub/subscription_index.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

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

TEST(SubscriptionIndex, RemovingFromTheMiddleKeepsEveryoneElse) {
  SubscriptionIndex<Client> index;
  std::vector<Client> clients(100);
  for (int i = 0; i < 100; ++i) {
    clients[i].id = i;
    index.add(&clients[i]);
    index.subscribe(&clients[i], i % 10 == 0 ? "*" : "sports");
  }
  std::vector<int> expected;
  for (int i = 0; i < 100; ++i) {
    if (i == 0 || i == 37 || i == 50 || i == 99) {
      index.remove(&clients[i]);
    } else {
      expected.push_back(i);
    }
  }
  auto got = recipients(index, "sports");
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
  got = recipients(index, "sports", true);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
  index.unsubscribe(&clients[40], "*");
  EXPECT_THAT(recipients(index, "culture"), UnorderedElementsAre(10, 20, 30, 60, 70, 80, 90));
  EXPECT_EQ(index.connections().size(), 96u);
}

// Random sequences against a plain model: every recipient exactly once, nothing left behind.
TEST(SubscriptionIndex, RandomOperationsMatchAModel) {
  const std::vector<std::string> categories = {"*", "sports", "culture", "politique", "tech"};
  for (unsigned seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    std::vector<Client> clients(40);
    for (int i = 0; i < 40; ++i) clients[i].id = i;
    SubscriptionIndex<Client> index;
    std::map<int, std::set<std::string>> model;
    auto pick = [&random](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
    };
    for (int step = 0; step < 2000; ++step) {
      int id = static_cast<int>(pick(clients.size()));
      Client* c = &clients[id];
      const std::string& category = categories[pick(categories.size())];
      switch (pick(5)) {
        case 0:
          index.add(c);
          model.try_emplace(id);
          break;
        case 1:
          index.remove(c);
          model.erase(id);
          break;
        case 2:
        case 3:
          if (!model.contains(id)) break;
          index.subscribe(c, category);
          model[id].insert(category);
          break;
        default:
          if (!model.contains(id)) break;
          index.unsubscribe(c, category);
          model[id].erase(category);
          break;
      }

      std::vector<int> everyone;
      for (const auto& [member, subscribed] : model) everyone.push_back(member);
      auto breaking = recipients(index, "sports", true);
      std::sort(breaking.begin(), breaking.end());
      ASSERT_EQ(breaking, everyone) << "step " << step;
      ASSERT_EQ(index.connections().size(), model.size());
      for (const auto& category : categories) {
        std::vector<int> expected;
        std::size_t listed = 0;
        for (const auto& [member, subscribed] : model) {
          bool all = subscribed.contains("*");
          if (all || subscribed.contains(category)) expected.push_back(member);
          bool is_listed = all ? category == "*" : subscribed.contains(category);
          ASSERT_EQ(index.is_listed(&clients[member], category), is_listed);
          listed += is_listed;
        }
        EXPECT_EQ(index.for_each_listed(category, [](Client*) {}), listed);
        if (category == "*") continue;  // never an article's category
        auto got = recipients(index, category);
        std::sort(got.begin(), got.end());
        ASSERT_EQ(got, expected) << "step " << step << ", category " << category;
      }
      for (const auto& [member, subscribed] : model)
        ASSERT_EQ(index.categories_of(&clients[member]),
                  std::vector<std::string>(subscribed.begin(), subscribed.end()));
    }
    for (auto& c : clients) index.remove(&c);
    EXPECT_TRUE(index.connections().empty());
    EXPECT_TRUE(index.listed_counts().empty());
  }
}

}  // namespace
}  // namespace newspush

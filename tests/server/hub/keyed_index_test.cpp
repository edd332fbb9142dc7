#include "server/hub/keyed_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace newspush {
namespace {

struct Client {};

std::vector<Client*> listed(const KeyedIndex<Client>& index, std::string_view key) {
  std::vector<Client*> out;
  index.for_each(key, [&out](Client* c) { out.push_back(c); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(KeyedIndex, AddRemoveAndListByKey) {
  KeyedIndex<Client> index;
  Client a, b;
  index.add(&a, "*");
  index.add(&a, "*");  // a set: once
  index.add(&b, "*");
  index.add(&b, "sports");
  auto both = std::vector<Client*>{&a, &b};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(listed(index, "*"), both);
  EXPECT_EQ(listed(index, "sports"), std::vector<Client*>{&b});
  EXPECT_EQ(index.keys_of(&b), (std::vector<std::string>{"*", "sports"}));
  EXPECT_TRUE(index.contains(&a, "*"));
  EXPECT_FALSE(index.contains(&a, "sports"));

  index.remove(&b, "*");
  index.remove(&b, "culture");  // not there: nothing happens
  EXPECT_EQ(listed(index, "*"), std::vector<Client*>{&a});
  index.remove_all(&b);
  EXPECT_TRUE(listed(index, "sports").empty());
  EXPECT_TRUE(index.keys_of(&b).empty());
  index.remove_all(&b);  // twice is fine
}

// Random sequences against a plain model: each listed once, removals in any order.
TEST(KeyedIndex, RandomOperationsMatchAModel) {
  const std::vector<std::string> keys = {"*", "sports", "culture", "tech"};
  for (unsigned seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    std::vector<Client> clients(40);
    KeyedIndex<Client> index;
    std::map<Client*, std::set<std::string>> model;
    auto pick = [&random](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
    };
    for (int step = 0; step < 2000; ++step) {
      Client* c = &clients[pick(clients.size())];
      const std::string& key = keys[pick(keys.size())];
      switch (pick(5)) {
        case 0:
          index.remove_all(c);
          model.erase(c);
          break;
        case 1:
        case 2:
          index.add(c, key);
          model[c].insert(key);
          break;
        default:
          index.remove(c, key);
          if (auto it = model.find(c); it != model.end()) {
            it->second.erase(key);
            if (it->second.empty()) model.erase(it);
          }
          break;
      }
      for (const auto& key : keys) {
        std::vector<Client*> expected;
        for (const auto& [client, asked] : model)
          if (asked.contains(key)) expected.push_back(client);
        std::sort(expected.begin(), expected.end());
        ASSERT_EQ(listed(index, key), expected) << "step " << step << ", key " << key;
      }
      for (auto& client : clients) {
        auto it = model.find(&client);
        auto expected = it == model.end()
                            ? std::vector<std::string>{}
                            : std::vector<std::string>(it->second.begin(), it->second.end());
        ASSERT_EQ(index.keys_of(&client), expected);
        ASSERT_EQ(index.contains(&client, "sports"),
                  it != model.end() && it->second.contains("sports"));
      }
    }
    for (auto& c : clients) index.remove_all(&c);
    for (const auto& key : keys) EXPECT_TRUE(listed(index, key).empty());
  }
}

}  // namespace
}  // namespace newspush

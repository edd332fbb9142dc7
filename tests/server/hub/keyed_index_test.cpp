#include "server/hub/keyed_index.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace newspush

// RecipientList's bookkeeping: every member's slot holds its position, and forgetting one member
// touches at most one other (the one moved into its place), whatever the list's size.
#include "server/hub/recipient_list.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace newspush {
namespace {

struct Member {
  std::size_t slot = RecipientList<Member>::kUnlisted;
};

void expect_consistent(const RecipientList<Member>& list) {
  for (std::size_t i = 0; i < list.size(); ++i) ASSERT_EQ(list.members()[i]->slot, i);
}

TEST(RecipientList, ErasesFirstMiddleLastAndOnly) {
  std::vector<Member> members(4);
  RecipientList<Member> list;
  for (auto& m : members) list.push(&m, m.slot);
  list.erase(members[3].slot);  // the last: nothing moves
  EXPECT_EQ(members[3].slot, RecipientList<Member>::kUnlisted);
  expect_consistent(list);
  list.erase(members[0].slot);  // the first: the last takes its place
  EXPECT_EQ(list.members().front(), &members[2]);
  expect_consistent(list);
  list.erase(members[2].slot);
  expect_consistent(list);
  EXPECT_EQ(list.members(), std::vector<Member*>{&members[1]});
  list.erase(members[1].slot);  // the only one
  EXPECT_TRUE(list.empty());
  list.push(&members[1], members[1].slot);  // and back
  EXPECT_EQ(members[1].slot, 0u);
}

// The O(1) property itself, checked structurally rather than by timing: after each erase, every
// slot but the erased one's and at most one other's is as it was.
TEST(RecipientList, AnEraseMovesAtMostOneOtherMember) {
  constexpr std::size_t kMembers = 2000;
  std::vector<Member> members(kMembers);
  RecipientList<Member> list;
  for (auto& m : members) list.push(&m, m.slot);
  std::mt19937 random(7);
  std::vector<std::size_t> order(kMembers);
  for (std::size_t i = 0; i < kMembers; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random);
  for (std::size_t victim : order) {
    std::vector<std::size_t> before(kMembers);
    for (std::size_t i = 0; i < kMembers; ++i) before[i] = members[i].slot;
    list.erase(members[victim].slot);
    std::size_t changed = 0;
    for (std::size_t i = 0; i < kMembers; ++i)
      if (i != victim && members[i].slot != before[i]) ++changed;
    ASSERT_LE(changed, 1u);
  }
  EXPECT_TRUE(list.empty());
}

// A hundred thousand members (a big worker) left in random order, interleaved with newcomers.
TEST(RecipientList, ManyMembersLeaveInAnyOrder) {
  constexpr std::size_t kMembers = 100'000;
  auto members = std::make_unique<Member[]>(kMembers);
  RecipientList<Member> list;
  for (std::size_t i = 0; i < kMembers; ++i) list.push(&members[i], members[i].slot);
  std::mt19937 random(11);
  std::vector<std::size_t> order(kMembers);
  for (std::size_t i = 0; i < kMembers; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random);
  std::set<Member*> expected;
  for (std::size_t i = 0; i < kMembers; ++i) expected.insert(&members[i]);
  for (std::size_t n = 0; n < kMembers; ++n) {
    Member* m = &members[order[n]];
    list.erase(m->slot);
    expected.erase(m);
    if (n % 3 == 0) {  // someone comes back meanwhile
      Member* back = &members[order[n / 2]];
      if (back->slot == RecipientList<Member>::kUnlisted) {
        list.push(back, back->slot);
        expected.insert(back);
      }
    }
    if (n % 10'000 == 0) {
      expect_consistent(list);
      ASSERT_EQ(std::set<Member*>(list.members().begin(), list.members().end()), expected);
    }
  }
  expect_consistent(list);
  EXPECT_EQ(std::set<Member*>(list.members().begin(), list.members().end()), expected);
}

}  // namespace
}  // namespace newspush

#include "server/history/read_slots.hpp"

#include <gtest/gtest.h>

namespace newspush {
namespace {

TEST(ReadSlots, GivesOutAtMostItsCountAndTakesThemBackWhenReleased) {
  ReadSlots slots(2);
  auto a = slots.try_take();
  auto b = slots.try_take();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_FALSE(slots.try_take());
  EXPECT_EQ(slots.taken(), 2u);
  auto copy = a;  // held by two callbacks, say: one slot
  a.reset();
  EXPECT_FALSE(slots.try_take());
  copy.reset();
  EXPECT_EQ(slots.taken(), 1u);
  EXPECT_TRUE(slots.try_take());
}

}  // namespace
}  // namespace newspush

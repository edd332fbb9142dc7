#include "server/history/known_categories.hpp"

#include <gtest/gtest.h>

namespace newspush {
namespace {

TEST(KnownCategories, ANameIsCertainlyUnknownOnlyOnceSeededAndWhileNotFull) {
  KnownCategories known;
  known.add("sports");
  EXPECT_FALSE(known.certainly_unknown("nobody"));  // not seeded: the history may have it
  known.mark_seeded();
  EXPECT_TRUE(known.certainly_unknown("nobody"));
  EXPECT_FALSE(known.certainly_unknown("sports"));
  for (std::size_t i = 1; i < KnownCategories::kMax; ++i) EXPECT_TRUE(known.add("c" + std::to_string(i)));
  EXPECT_TRUE(known.full());
  EXPECT_FALSE(known.add("one-too-many"));
  EXPECT_FALSE(known.contains("one-too-many"));
  EXPECT_TRUE(known.add("sports"));  // already in
  // Full: names outside may be categories it could not keep.
  EXPECT_FALSE(known.certainly_unknown("one-too-many"));
}

}  // namespace
}  // namespace newspush

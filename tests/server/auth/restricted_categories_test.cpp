#include "server/auth/restricted_categories.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace newspush::auth {
namespace {

using ::testing::ElementsAre;

TEST(CategoryPatterns, AcceptsSlugsAndSlugPrefixesFollowedByAStar) {
  for (const char* pattern : {"sport", "live-blog", "a", "0-9", "premium-*", "p*", "premium*",
                              "abcdefghijklmnopqrstuvwxyz012345",      // 32: the longest slug
                              "abcdefghijklmnopqrstuvwxyz012345*"}) {  // and as a prefix
    EXPECT_TRUE(CategoryPatterns::is_valid_pattern(pattern)) << pattern;
  }
}

TEST(CategoryPatterns, RefusesAnythingElseWithAReasonAndAddsNothing) {
  CategoryPatterns patterns;
  for (const char* pattern : {"", "*", "**", "premium-**", "*-premium", "pre*mium", "Premium",
                              "premium sport", "premium_x", "premium-*x", "caf\xc3\xa9",
                              "abcdefghijklmnopqrstuvwxyz0123456",  // 33
                              "abcdefghijklmnopqrstuvwxyz0123456*"}) {
    EXPECT_FALSE(CategoryPatterns::is_valid_pattern(pattern)) << pattern;
    EXPECT_THAT(patterns.add(pattern), ::testing::HasSubstr("[a-z0-9-]{1,32}")) << pattern;
  }
  EXPECT_TRUE(patterns.empty());
}

TEST(CategoryPatterns, ExactSlugsMatchOnlyThemselves) {
  CategoryPatterns patterns;
  ASSERT_EQ(patterns.add("premium"), "");
  ASSERT_EQ(patterns.add("live-blog"), "");
  EXPECT_TRUE(patterns.matches("premium"));
  EXPECT_TRUE(patterns.matches("live-blog"));
  EXPECT_FALSE(patterns.matches("premium-daily"));
  EXPECT_FALSE(patterns.matches("premiu"));
  EXPECT_FALSE(patterns.matches("live"));
  EXPECT_FALSE(patterns.matches("*"));
  EXPECT_FALSE(patterns.matches(""));
}

TEST(CategoryPatterns, APrefixPatternMatchesEveryCategoryStartingWithIt) {
  CategoryPatterns patterns;
  ASSERT_EQ(patterns.add("premium-*"), "");
  EXPECT_TRUE(patterns.matches("premium-daily"));
  EXPECT_TRUE(patterns.matches("premium-"));
  EXPECT_FALSE(patterns.matches("premium"));  // no '-': not covered by "premium-*"
  EXPECT_FALSE(patterns.matches("sport"));
  EXPECT_FALSE(patterns.matches("*"));
}

TEST(CategoryPatterns, DuplicatesAreKeptOnceAndListedSorted) {
  CategoryPatterns patterns;
  for (const char* pattern : {"sport", "premium-*", "arts", "sport", "premium-*", "live*"})
    ASSERT_EQ(patterns.add(pattern), "") << pattern;
  EXPECT_THAT(patterns.patterns(), ElementsAre("arts", "sport", "live*", "premium-*"));
}

TEST(RestrictedCategories, NothingIsRestrictedByDefault) {
  RestrictedCategories restricted;
  EXPECT_FALSE(restricted.any());
  EXPECT_FALSE(restricted.restricted("premium"));
  EXPECT_TRUE(restricted.allows("premium", CategoryPatterns{}));
}

TEST(RestrictedCategories, RestrictedCategoriesNeedAGrantPublicOnesDoNot) {
  RestrictedCategories restricted;
  ASSERT_EQ(restricted.add("premium-*"), "");
  ASSERT_EQ(restricted.add("live-blog"), "");
  EXPECT_NE(restricted.add("premium-**"), "");
  EXPECT_TRUE(restricted.any());

  EXPECT_TRUE(restricted.restricted("premium-daily"));
  EXPECT_TRUE(restricted.restricted("live-blog"));
  EXPECT_FALSE(restricted.restricted("sport"));
  EXPECT_FALSE(restricted.restricted("premium"));

  const CategoryPatterns anonymous;
  EXPECT_TRUE(restricted.allows("sport", anonymous));
  EXPECT_FALSE(restricted.allows("premium-daily", anonymous));
  EXPECT_FALSE(restricted.allows("live-blog", anonymous));

  CategoryPatterns daily_only;
  ASSERT_EQ(daily_only.add("premium-daily"), "");
  EXPECT_TRUE(restricted.allows("premium-daily", daily_only));
  EXPECT_FALSE(restricted.allows("premium-weekly", daily_only));
  EXPECT_FALSE(restricted.allows("live-blog", daily_only));
  EXPECT_TRUE(restricted.allows("sport", daily_only));

  // A grant wider than the restriction opens only what it names.
  CategoryPatterns every_premium;
  ASSERT_EQ(every_premium.add("premium*"), "");
  EXPECT_TRUE(restricted.allows("premium-weekly", every_premium));
  EXPECT_FALSE(restricted.allows("live-blog", every_premium));
}

}  // namespace
}  // namespace newspush::auth

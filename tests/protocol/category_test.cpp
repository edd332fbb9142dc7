#include "protocol/category.hpp"

#include <gtest/gtest.h>

#include <string>

namespace newspush::protocol {
namespace {

TEST(CategoryTest, AcceptsSlugs) {
  EXPECT_TRUE(is_valid_category("politique"));
  EXPECT_TRUE(is_valid_category("societe"));
  EXPECT_TRUE(is_valid_category("faits-divers"));
  EXPECT_TRUE(is_valid_category("ligue-1"));
  EXPECT_TRUE(is_valid_category("a"));
  EXPECT_TRUE(is_valid_category("-"));
  EXPECT_TRUE(is_valid_category("2024"));
}

TEST(CategoryTest, LengthBoundary) {
  EXPECT_TRUE(is_valid_category(std::string(kMaxCategoryLength, 'a')));
  EXPECT_FALSE(is_valid_category(std::string(kMaxCategoryLength + 1, 'a')));
  EXPECT_FALSE(is_valid_category(""));
}

TEST(CategoryTest, RejectsOtherCharacters) {
  EXPECT_FALSE(is_valid_category("Politique"));
  EXPECT_FALSE(is_valid_category("société"));
  EXPECT_FALSE(is_valid_category("faits_divers"));
  EXPECT_FALSE(is_valid_category("faits divers"));
  EXPECT_FALSE(is_valid_category("sport."));
  EXPECT_FALSE(is_valid_category("news/sport"));
  EXPECT_FALSE(is_valid_category("sport\n"));
  EXPECT_FALSE(is_valid_category(std::string("spo\0rt", 6)));
}

TEST(CategoryTest, WildcardIsNotASlug) {
  // "*" is accepted by subscribe commands, never as an article's category.
  EXPECT_FALSE(is_valid_category(kAllCategories));
}

}  // namespace
}  // namespace newspush::protocol

#include "bridge/push/notification.hpp"

#include <gtest/gtest.h>

#include "protocol/article.hpp"

namespace newspush::bridge {
namespace {

bool is_utf8(std::string_view s) {
  // Enough for these tests: no sequence cut short, no stray continuation byte.
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t length = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (length == 0 || i + length > s.size()) return false;
    for (std::size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += length;
  }
  return true;
}

TEST(Notification, TakesTheArticlesFields) {
  auto parsed = protocol::parse_article(
      R"({"id":"eco-77","category":"economie","title":"L’inflation ralentit en avril","breaking":true,)"
      R"("url":"https://exemple.fr/eco/77","summary":"Les prix ont progressé de 2,2 % sur un an.",)"
      R"("image":"https://exemple.fr/img/77.jpg","tags":["prix"]})",
      65536);
  ASSERT_TRUE(parsed.ok());
  auto notification = notification_from_article(parsed.article);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->id, "eco-77");
  EXPECT_EQ(notification->category, "economie");
  EXPECT_TRUE(notification->breaking);
  EXPECT_EQ(notification->title, "L’inflation ralentit en avril");
  EXPECT_EQ(notification->body, "Les prix ont progressé de 2,2 % sur un an.");
  EXPECT_EQ(notification->url, "https://exemple.fr/eco/77");
  EXPECT_EQ(notification->image, "https://exemple.fr/img/77.jpg");
}

TEST(Notification, OptionalFieldsOfTheWrongTypeAreLeftEmpty) {
  auto parsed = protocol::parse_article(
      R"({"id":"a","category":"sports","title":"Victoire à Lyon","summary":3,"url":null})", 65536);
  ASSERT_TRUE(parsed.ok());
  auto notification = notification_from_article(parsed.article);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->body, "");
  EXPECT_EQ(notification->url, "");
  EXPECT_FALSE(notification->breaking);
}

TEST(ShortenUtf8, NeverCutsInsideACharacter) {
  std::string text = "àéèêëîïôùûüç€𝄞";  // 2-, 3- and 4-byte characters
  for (std::size_t limit = 0; limit <= text.size() + 1; ++limit) {
    std::string out = shorten_utf8(text, limit);
    EXPECT_LE(out.size(), limit) << limit;
    EXPECT_TRUE(is_utf8(out)) << limit;
  }
  EXPECT_EQ(shorten_utf8(text, text.size()), text);
}

TEST(ShortenUtf8, CutsAtAWordAndEndsWithAnEllipsis) {
  EXPECT_EQ(shorten_utf8("Le gouvernement annonce une réforme des retraites", 30),
            "Le gouvernement annonce une…");
  EXPECT_EQ(shorten_utf8("Paris, Lyon et Marseille", 12), "Paris…");
  // No space near the cut: cut inside the word.
  EXPECT_EQ(shorten_utf8("Anticonstitutionnellement", 10), "Anticon…");
  EXPECT_EQ(shorten_utf8("abc", 2), "ab");  // no room for an ellipsis
}

TEST(HeaderSafeId, PlainShortIdsPassDigestsForTheRest) {
  EXPECT_EQ(header_safe_id("soc-2024-0412", 64), "soc-2024-0412");
  std::string longer(65, 'a');
  std::string digest = header_safe_id(longer, 64);
  EXPECT_EQ(digest.size(), 44u);
  EXPECT_EQ(digest[0], '~');
  EXPECT_EQ(digest, header_safe_id(longer, 64));  // stable across retries
  EXPECT_NE(digest, header_safe_id(std::string(66, 'a'), 64));
  EXPECT_EQ(header_safe_id("société", 64).front(), '~');  // not ASCII
  EXPECT_EQ(header_safe_id("a b", 64).front(), '~');
  EXPECT_EQ(header_safe_id("a\r\nx: y", 64).front(), '~');  // no header injection
  // A plain id can never equal a digest.
  EXPECT_NE(header_safe_id(digest, 64), digest);
}

}  // namespace
}  // namespace newspush::bridge

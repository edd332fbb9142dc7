#include "protocol/article.hpp"

#include <gtest/gtest.h>

#include <string>

namespace newspush::protocol {
namespace {

constexpr std::size_t kLimit = 256 * 1024;

ArticleParseResult parse(std::string_view payload) { return parse_article(payload, kLimit); }

// A valid article whose "extra" field holds `value` verbatim.
std::string with_extra(std::string_view value) {
  return R"({"id":"a1","category":"politique","title":"T","extra":)" + std::string(value) + "}";
}

// An article nested `depth` containers deep in total, the top-level object included.
std::string nested(std::size_t depth) {
  return with_extra(std::string(depth - 1, '[') + std::string(depth - 1, ']'));
}

void expect_error(std::string_view payload, ArticleError expected) {
  auto result = parse(payload);
  EXPECT_EQ(result.error, expected) << payload << " gave " << to_string(result.error);
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.detail.empty());
}

TEST(ArticleTest, ParsesMinimalArticle) {
  auto result = parse(R"({"id":"a1","category":"politique","title":"Réforme des retraites"})");
  ASSERT_TRUE(result.ok()) << result.detail;
  EXPECT_EQ(result.article.id, "a1");
  EXPECT_EQ(result.article.category, "politique");
  EXPECT_FALSE(result.article.breaking);
  EXPECT_EQ(result.article.json,
            R"({"id":"a1","category":"politique","title":"Réforme des retraites"})");
  EXPECT_TRUE(result.detail.empty());
}

TEST(ArticleTest, ReadsBreakingFlag) {
  auto yes = parse(R"({"id":"a","category":"sante","title":"T","breaking":true})");
  ASSERT_TRUE(yes.ok());
  EXPECT_TRUE(yes.article.breaking);
  auto no = parse(R"({"id":"a","category":"sante","title":"T","breaking":false})");
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(no.article.breaking);
}

TEST(ArticleTest, PassesEveryOtherFieldThroughInPublishedOrder) {
  const std::string published =
      R"({"url":"https://exemple.fr/a?x=1&y=2","zeta":1,"id":"eco-42","summary":"Résumé",)"
      R"("category":"economie","published_at":"2024-05-01T08:00:00+02:00",)"
      R"("image":{"src":"https://exemple.fr/i.jpg","sizes":[320,640],"meta":{"b":null,"a":true}},)"
      R"("tags":["budget","impôts"],"title":"Budget 2025","alpha":{"z":1.5,"y":-3,"x":"s"},)"
      R"("breaking":false,"big":12345678901234567890})";
  auto result = parse(published);
  ASSERT_TRUE(result.ok()) << result.detail;
  EXPECT_EQ(result.article.json, published);
}

TEST(ArticleTest, OutputIsCompact) {
  auto result = parse("{\n  \"id\" : \"a\",\r\n\t\"category\": \"sante\",  \"title\":\"T\" }\n");
  ASSERT_TRUE(result.ok()) << result.detail;
  EXPECT_EQ(result.article.json, R"({"id":"a","category":"sante","title":"T"})");
}

TEST(ArticleTest, EscapesControlCharactersSoNoRawNewlineSurvives) {
  auto result =
      parse(R"({"id":"a","category":"sante","title":"ligne 1\nligne 2","s":"\t\u0001\r"})");
  ASSERT_TRUE(result.ok()) << result.detail;
  EXPECT_EQ(result.article.json.find('\n'), std::string::npos);
  EXPECT_EQ(result.article.json.find('\r'), std::string::npos);
  EXPECT_NE(result.article.json.find(R"("ligne 1\nligne 2")"), std::string::npos);
  EXPECT_NE(result.article.json.find(R"("\t\u0001\r")"), std::string::npos);
}

TEST(ArticleTest, KeepsUtf8AsIs) {
  auto result =
      parse(R"({"id":"é-1","category":"societe","title":"La société française","e":"😀"})");
  ASSERT_TRUE(result.ok()) << result.detail;
  EXPECT_EQ(result.article.id, "é-1");
  EXPECT_NE(result.article.json.find("La société française"), std::string::npos);
  EXPECT_NE(result.article.json.find("😀"), std::string::npos);
}

TEST(ArticleTest, UnicodeEscapesAreDecoded) {
  auto result =
      parse(R"({"id":"a","category":"societe","title":"soci\u00e9t\u00e9 \ud83d\ude00"})");
  ASSERT_TRUE(result.ok()) << result.detail;
  EXPECT_NE(result.article.json.find("société 😀"), std::string::npos);
}

TEST(ArticleTest, RejectsInvalidUtf8) {
  expect_error(with_extra("\"\xff\""), ArticleError::not_json);
  expect_error(with_extra("\"\xc3\""), ArticleError::not_json);          // truncated sequence
  expect_error(with_extra("\"\xc0\xaf\""), ArticleError::not_json);      // overlong
  expect_error(with_extra("\"\xed\xa0\x80\""), ArticleError::not_json);  // encoded surrogate
  expect_error(with_extra(R"("\ud800")"), ArticleError::not_json);       // lone surrogate escape
  expect_error("{\"id\":\"a\",\"category\":\"sante\",\"title\":\"soci\xe9t\xe9\"}",
               ArticleError::not_json);  // Latin-1, not UTF-8
}

TEST(ArticleTest, RejectsNonJson) {
  expect_error("", ArticleError::not_json);
  expect_error("{", ArticleError::not_json);
  expect_error("not json", ArticleError::not_json);
  expect_error(R"({"id":"a",})", ArticleError::not_json);
  expect_error(R"({"id":'a'})", ArticleError::not_json);
  expect_error(with_extra("\"raw\nnewline\""), ArticleError::not_json);
}

TEST(ArticleTest, RejectsTrailingGarbage) {
  expect_error(with_extra("1") + "x", ArticleError::not_json);
  expect_error(with_extra("1") + with_extra("1"), ArticleError::not_json);
  expect_error(with_extra("1") + "\n" + with_extra("1"), ArticleError::not_json);
}

// Found by fuzz/trending_payload_fuzz: nlohmann/json stops at a NUL byte as at the end of input.
TEST(ArticleTest, RejectsEverythingAfterANulByte) {
  using namespace std::string_literals;
  expect_error(with_extra("1") + "\0garbage \xff"s, ArticleError::not_json);
  expect_error(with_extra("1") + "\0"s, ArticleError::not_json);
  expect_error(with_extra("\"a\0b\""s), ArticleError::not_json);
}

TEST(ArticleTest, RejectsNonObjects) {
  expect_error("[]", ArticleError::not_object);
  expect_error(R"(["id","a"])", ArticleError::not_object);
  expect_error(R"("article")", ArticleError::not_object);
  expect_error("42", ArticleError::not_object);
  expect_error("true", ArticleError::not_object);
  expect_error("null", ArticleError::not_object);
}

TEST(ArticleTest, SizeLimitIsInclusive) {
  std::string payload = R"({"id":"a","category":"sante","title":"T"})";
  EXPECT_TRUE(parse_article(payload, payload.size()).ok());
  auto result = parse_article(payload, payload.size() - 1);
  EXPECT_EQ(result.error, ArticleError::too_large);
  EXPECT_FALSE(result.detail.empty());
}

TEST(ArticleTest, SizeIsCheckedBeforeParsing) {
  EXPECT_EQ(parse_article("{not json at all", 4).error, ArticleError::too_large);
}

TEST(ArticleTest, DepthLimitBoundary) {
  auto at_limit = parse(nested(kMaxJsonDepth));
  ASSERT_TRUE(at_limit.ok()) << at_limit.detail;
  EXPECT_NE(at_limit.article.json.find(std::string(kMaxJsonDepth - 1, '[')), std::string::npos);
  expect_error(nested(kMaxJsonDepth + 1), ArticleError::too_deep);
}

TEST(ArticleTest, DepthCountsObjectsAndArraysAlike) {
  std::string objects;
  for (std::size_t i = 1; i < kMaxJsonDepth; ++i) objects += R"({"k":)";
  objects += "0" + std::string(kMaxJsonDepth - 1, '}');
  EXPECT_TRUE(parse(with_extra(objects)).ok());
  expect_error(with_extra("[" + objects + "]"), ArticleError::too_deep);
}

TEST(ArticleTest, VeryDeepInputIsRejectedWithoutCrashing) {
  expect_error(nested(100000), ArticleError::too_deep);
  // Unterminated nesting: the depth is what the caller needs to hear about.
  expect_error(std::string(200000, '['), ArticleError::too_deep);
}

TEST(ArticleTest, IdRules) {
  auto article_with_id = [](std::string_view id) {
    return R"({"category":"sante","title":"T","id":)" + std::string(id) + "}";
  };
  EXPECT_TRUE(parse(article_with_id('"' + std::string(kMaxIdLength, 'x') + '"')).ok());
  expect_error(article_with_id('"' + std::string(kMaxIdLength + 1, 'x') + '"'),
               ArticleError::bad_id);
  // The limit is in bytes: "é" takes two.
  std::string accents;
  for (std::size_t i = 0; i < kMaxIdLength / 2; ++i) accents += "é";
  EXPECT_TRUE(parse(article_with_id('"' + accents + '"')).ok());
  expect_error(article_with_id("\"" + accents + "x\""), ArticleError::bad_id);
  expect_error(article_with_id(R"("")"), ArticleError::bad_id);
  expect_error(article_with_id("42"), ArticleError::bad_id);
  expect_error(article_with_id("null"), ArticleError::bad_id);
  expect_error(article_with_id(R"(["a"])"), ArticleError::bad_id);
  expect_error(R"({"category":"sante","title":"T"})", ArticleError::bad_id);
}

TEST(ArticleTest, CategoryRules) {
  auto article_in = [](std::string_view category) {
    return R"({"id":"a","title":"T","category":)" + std::string(category) + "}";
  };
  EXPECT_TRUE(parse(article_in('"' + std::string(32, 'c') + '"')).ok());
  EXPECT_TRUE(parse(article_in(R"("faits-divers")")).ok());
  expect_error(article_in('"' + std::string(33, 'c') + '"'), ArticleError::bad_category);
  expect_error(article_in(R"("")"), ArticleError::bad_category);
  expect_error(article_in(R"("société")"), ArticleError::bad_category);
  expect_error(article_in(R"("Politique")"), ArticleError::bad_category);
  expect_error(article_in(R"("*")"), ArticleError::bad_category);
  expect_error(article_in(R"("a\nb")"), ArticleError::bad_category);
  expect_error(article_in("7"), ArticleError::bad_category);
  expect_error(article_in("null"), ArticleError::bad_category);
  expect_error(R"({"id":"a","title":"T"})", ArticleError::bad_category);
  auto result = parse(article_in(R"("Politique")"));
  EXPECT_EQ(result.detail, R"("category" must match [a-z0-9-]{1,32})");
}

TEST(ArticleTest, TitleRules) {
  auto titled = [](std::string_view title) {
    return R"({"id":"a","category":"sante","title":)" + std::string(title) + "}";
  };
  EXPECT_TRUE(parse(titled(R"(" ")")).ok());
  expect_error(titled(R"("")"), ArticleError::bad_title);
  expect_error(titled("1"), ArticleError::bad_title);
  expect_error(titled("null"), ArticleError::bad_title);
  expect_error(titled(R"({"fr":"Titre"})"), ArticleError::bad_title);
  expect_error(R"({"id":"a","category":"sante"})", ArticleError::bad_title);
}

TEST(ArticleTest, BreakingMustBeBoolWhenPresent) {
  auto flagged = [](std::string_view value) {
    return R"({"id":"a","category":"sante","title":"T","breaking":)" + std::string(value) + "}";
  };
  expect_error(flagged("null"), ArticleError::bad_breaking);
  expect_error(flagged(R"("true")"), ArticleError::bad_breaking);
  expect_error(flagged("1"), ArticleError::bad_breaking);
  expect_error(flagged("[]"), ArticleError::bad_breaking);
}

TEST(ArticleTest, ErrorLabelsAreStable) {
  EXPECT_EQ(to_string(ArticleError::none), "none");
  EXPECT_EQ(to_string(ArticleError::too_large), "too_large");
  EXPECT_EQ(to_string(ArticleError::not_json), "not_json");
  EXPECT_EQ(to_string(ArticleError::too_deep), "too_deep");
  EXPECT_EQ(to_string(ArticleError::not_object), "not_object");
  EXPECT_EQ(to_string(ArticleError::bad_id), "bad_id");
  EXPECT_EQ(to_string(ArticleError::bad_category), "bad_category");
  EXPECT_EQ(to_string(ArticleError::bad_title), "bad_title");
  EXPECT_EQ(to_string(ArticleError::bad_breaking), "bad_breaking");
}

}  // namespace
}  // namespace newspush::protocol

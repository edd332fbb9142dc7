#include "protocol/command.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "protocol/article.hpp"

namespace newspush::protocol {
namespace {

using Categories = std::vector<std::string>;
constexpr std::size_t kMaxCategories = 64;

Command expect_command(std::string_view text, std::size_t max_categories = kMaxCategories) {
  auto result = parse_command(text, max_categories);
  if (auto* error = std::get_if<CommandError>(&result)) {
    ADD_FAILURE() << text << " gave " << error->code << ": " << error->message;
    return Ping{};
  }
  return std::get<Command>(result);
}

CommandError expect_error(std::string_view text, std::string_view code,
                          std::size_t max_categories = kMaxCategories) {
  auto result = parse_command(text, max_categories);
  auto* error = std::get_if<CommandError>(&result);
  if (!error) {
    ADD_FAILURE() << text << " parsed, expected " << code;
    return {};
  }
  EXPECT_EQ(error->code, code) << text << ": " << error->message;
  EXPECT_FALSE(error->message.empty());
  return *error;
}

Subscribe expect_subscribe(std::string_view text, std::size_t max_categories = kMaxCategories) {
  Command command = expect_command(text, max_categories);
  EXPECT_TRUE(std::holds_alternative<Subscribe>(command)) << text;
  auto* subscribe = std::get_if<Subscribe>(&command);
  return subscribe ? *subscribe : Subscribe{};
}

// Messages travel inside JSON error frames, so they must stay valid UTF-8.
bool is_valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

TEST(CommandTest, Ping) {
  EXPECT_TRUE(std::holds_alternative<Ping>(expect_command(R"({"op":"ping"})")));
  EXPECT_TRUE(std::holds_alternative<Ping>(expect_command(" {\n\"op\" : \"ping\" }\n")));
}

TEST(CommandTest, Subscribe) {
  auto subscribe = expect_subscribe(R"({"op":"subscribe","categories":["politique","sante"]})");
  EXPECT_EQ(subscribe.categories, (Categories{"politique", "sante"}));
  EXPECT_FALSE(subscribe.since.has_value());
}

TEST(CommandTest, SubscribeKeepsOrderAndDropsDuplicates) {
  auto subscribe = expect_subscribe(
      R"({"op":"subscribe","categories":["sport","economie","sport","*","economie","*"]})");
  EXPECT_EQ(subscribe.categories, (Categories{"sport", "economie", "*"}));
}

TEST(CommandTest, SubscribeToEverything) {
  EXPECT_EQ(expect_subscribe(R"({"op":"subscribe","categories":["*"]})").categories,
            (Categories{"*"}));
}

TEST(CommandTest, Unsubscribe) {
  Command command = expect_command(R"({"op":"unsubscribe","categories":["sport","sport","*"]})");
  ASSERT_TRUE(std::holds_alternative<Unsubscribe>(command));
  EXPECT_EQ(std::get<Unsubscribe>(command).categories, (Categories{"sport", "*"}));
}

TEST(CommandTest, UnknownFieldsAreIgnored) {
  EXPECT_TRUE(std::holds_alternative<Ping>(
      expect_command(R"({"id":7,"op":"ping","future":{"deep":[1,2]}})")));
  auto subscribe =
      expect_subscribe(R"({"op":"subscribe","format":"v2","categories":["sport"],"x":null})");
  EXPECT_EQ(subscribe.categories, (Categories{"sport"}));
  // "since" only means something to subscribe.
  EXPECT_TRUE(std::holds_alternative<Unsubscribe>(
      expect_command(R"({"op":"unsubscribe","categories":["sport"],"since":5})")));
}

TEST(CommandTest, SinceIsStored) {
  auto subscribe =
      expect_subscribe(R"({"op":"subscribe","categories":["sport"],"since":"1714543200000-0"})");
  EXPECT_EQ(subscribe.since, "1714543200000-0");
  std::string longest(128, 'c');
  EXPECT_EQ(
      expect_subscribe(R"({"op":"subscribe","categories":["sport"],"since":")" + longest + "\"}")
          .since,
      longest);
}

TEST(CommandTest, BadSince) {
  auto with_since = [](std::string_view since) {
    return R"({"op":"subscribe","categories":["sport"],"since":)" + std::string(since) + "}";
  };
  expect_error(with_since(R"("")"), "bad_since");
  expect_error(with_since('"' + std::string(129, 'c') + '"'), "bad_since");
  expect_error(with_since("42"), "bad_since");
  expect_error(with_since("null"), "bad_since");
  expect_error(with_since(R"(["a"])"), "bad_since");
}

TEST(CommandTest, InvalidJson) {
  expect_error("", "invalid_json");
  expect_error("{", "invalid_json");
  expect_error("ping", "invalid_json");
  expect_error(R"({"op":"ping",})", "invalid_json");
  expect_error(R"({"op":"ping"} x)", "invalid_json");
  expect_error(R"({"op":"ping"}{"op":"ping"})", "invalid_json");
  expect_error(R"({"op":"ping"})"
               "\n"
               R"({"op":"ping"})",
               "invalid_json");
  expect_error("{\"op\":\"ping\",\"x\":\"\xff\"}", "invalid_json");
  expect_error("{\"op\":\"ping\",\"x\":\"\xc3\"}", "invalid_json");
}

// Found by fuzz/trending_payload_fuzz: nlohmann/json stops at a NUL byte as at the end of input.
TEST(CommandTest, ANulByteMakesInvalidJson) {
  using namespace std::string_literals;
  expect_error("{\"op\":\"ping\"}\0{\"op\":"s, "invalid_json");
  expect_error("{\"op\":\"ping\"}\0"s, "invalid_json");
}

TEST(CommandTest, DeepNestingIsInvalidJson) {
  std::string at_limit = std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']');
  expect_command(R"({"op":"ping","x":)" + at_limit + "}");
  expect_error(R"({"op":"ping","x":[)" + at_limit + "]}", "invalid_json");
  expect_error(std::string(60000, '['), "invalid_json");
}

TEST(CommandTest, NotObject) {
  expect_error(R"(["op","ping"])", "not_object");
  expect_error(R"("ping")", "not_object");
  expect_error("1", "not_object");
  expect_error("null", "not_object");
}

TEST(CommandTest, MissingOp) {
  expect_error("{}", "missing_op");
  expect_error(R"({"categories":["sport"]})", "missing_op");
  expect_error(R"({"op":1})", "missing_op");
  expect_error(R"({"op":null})", "missing_op");
  expect_error(R"({"op":["ping"]})", "missing_op");
}

TEST(CommandTest, UnknownOp) {
  auto error = expect_error(R"({"op":"publish"})", "unknown_op");
  EXPECT_NE(error.message.find("\"publish\""), std::string::npos) << error.message;
  expect_error(R"({"op":""})", "unknown_op");
  expect_error(R"({"op":"PING"})", "unknown_op");
  expect_error(R"({"op":"subscribe "})", "unknown_op");
}

TEST(CommandTest, UnknownOpMessageIsBounded) {
  auto error = expect_error(R"({"op":")" + std::string(10000, 'x') + "\"}", "unknown_op");
  EXPECT_LT(error.message.size(), 200u);
  EXPECT_NE(error.message.find(std::string(60, 'x')), std::string::npos);
}

TEST(CommandTest, TruncationKeepsUtf8Valid) {
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "é";
  for (std::string prefix : {"", "x"}) {  // cut lands on either byte of "é"
    auto error = expect_error(R"({"op":")" + prefix + accents + "\"}", "unknown_op");
    EXPECT_TRUE(is_valid_utf8(error.message)) << error.message;
    auto entry = expect_error(R"({"op":"subscribe","categories":[")" + prefix + accents + "\"]}",
                              "bad_category");
    EXPECT_TRUE(is_valid_utf8(entry.message)) << entry.message;
  }
}

TEST(CommandTest, BadCategories) {
  for (std::string op : {"subscribe", "unsubscribe"}) {
    std::string head = R"({"op":")" + op + "\"";
    expect_error(head + "}", "bad_categories");
    expect_error(head + R"(,"categories":[]})", "bad_categories");
    expect_error(head + R"(,"categories":"sport"})", "bad_categories");
    expect_error(head + R"(,"categories":null})", "bad_categories");
    expect_error(head + R"(,"categories":{"sport":true}})", "bad_categories");
  }
}

TEST(CommandTest, BadCategory) {
  auto with = [](std::string_view entry) {
    return R"({"op":"subscribe","categories":["sport",)" + std::string(entry) + "]}";
  };
  auto error = expect_error(with(R"("Faits_Divers")"), "bad_category");
  EXPECT_NE(error.message.find("\"Faits_Divers\""), std::string::npos) << error.message;
  expect_error(with(R"("")"), "bad_category");
  expect_error(with(R"("société")"), "bad_category");
  expect_error(with(R"("**")"), "bad_category");
  expect_error(with(R"("a b")"), "bad_category");
  expect_error(with("1"), "bad_category");
  expect_error(with("null"), "bad_category");
  expect_error(with(R"(["sport"])"), "bad_category");
  expect_error(R"({"op":"unsubscribe","categories":["Sport"]})", "bad_category");
}

TEST(CommandTest, CategoryLengthBoundary) {
  std::string longest(32, 'c');
  EXPECT_EQ(expect_subscribe(R"({"op":"subscribe","categories":[")" + longest + "\"]}").categories,
            (Categories{longest}));
  auto error = expect_error(R"({"op":"subscribe","categories":[")" + std::string(33, 'c') + "\"]}",
                            "bad_category");
  EXPECT_NE(error.message.find(std::string(33, 'c')), std::string::npos);
}

TEST(CommandTest, TooManyCategories) {
  EXPECT_EQ(expect_subscribe(R"({"op":"subscribe","categories":["a","b"]})", 2).categories.size(),
            2u);
  expect_error(R"({"op":"subscribe","categories":["a","b","c"]})", "too_many_categories", 2);
  expect_error(R"({"op":"unsubscribe","categories":["a","b","c"]})", "too_many_categories", 2);

  std::string list;
  for (std::size_t i = 0; i <= kMaxCategories; ++i)
    list += (i ? ",\"c" : "\"c") + std::to_string(i) + '"';
  expect_error(R"({"op":"subscribe","categories":[)" + list + "]}", "too_many_categories");
}

}  // namespace

TEST(ParseCommand, ViewNamesOneArticle) {
  Command command = expect_command(R"({"op":"view","article":"spo-1"})");
  ASSERT_TRUE(std::holds_alternative<View>(command));
  EXPECT_EQ(std::get<View>(command).article, "spo-1");
  expect_command(R"({"op":"view","article":")" + std::string(kMaxIdLength, 'a') + "\"}");
}

TEST(ParseCommand, ViewWithoutAProperArticleIdIsBadArticle) {
  expect_error(R"({"op":"view"})", "bad_article");
  expect_error(R"({"op":"view","article":""})", "bad_article");
  expect_error(R"({"op":"view","article":42})", "bad_article");
  expect_error(R"({"op":"view","article":["a"]})", "bad_article");
  expect_error(R"({"op":"view","article":")" + std::string(kMaxIdLength + 1, 'a') + "\"}",
               "bad_article");
}

TEST(ParseCommand, SubscribeMayAskForTrendingLists) {
  Subscribe s = expect_subscribe(R"({"op":"subscribe","categories":["sports"],"trending":["*","culture","*"]})");
  EXPECT_EQ(s.categories, Categories({"sports"}));
  EXPECT_EQ(s.trending, Categories({"*", "culture"}));
  // Only trending: categories may be empty or absent.
  EXPECT_EQ(expect_subscribe(R"({"op":"subscribe","categories":[],"trending":["*"]})").trending,
            Categories({"*"}));
  EXPECT_TRUE(expect_subscribe(R"({"op":"subscribe","trending":["*"]})").categories.empty());
}

TEST(ParseCommand, UnsubscribeMayDropTrendingLists) {
  Command command = expect_command(R"({"op":"unsubscribe","trending":["*"]})");
  ASSERT_TRUE(std::holds_alternative<Unsubscribe>(command));
  EXPECT_TRUE(std::get<Unsubscribe>(command).categories.empty());
  EXPECT_EQ(std::get<Unsubscribe>(command).trending, Categories({"*"}));
}

TEST(ParseCommand, BadTrendingListsAreRejected) {
  expect_error(R"({"op":"subscribe","categories":["sports"],"trending":"*"})", "bad_trending");
  expect_error(R"({"op":"subscribe","categories":["sports"],"trending":[1]})", "bad_trending");
  expect_error(R"({"op":"subscribe","categories":["sports"],"trending":["Sport"]})", "bad_trending");
  expect_error(R"({"op":"unsubscribe","trending":{"a":1}})", "bad_trending");
  // Neither list names anything.
  expect_error(R"({"op":"subscribe","categories":[],"trending":[]})", "bad_categories");
  expect_error(R"({"op":"subscribe","trending":[]})", "bad_categories");
  std::string many = R"({"op":"subscribe","trending":[)";
  for (int i = 0; i < 3; ++i) many += (i ? ",\"c" : "\"c") + std::to_string(i) + "\"";
  expect_error(many + "]}", "too_many_categories", 2);
}

}  // namespace newspush::protocol

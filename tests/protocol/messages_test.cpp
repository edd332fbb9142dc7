#include "protocol/messages.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace newspush::protocol {
namespace {

using Json = nlohmann::ordered_json;

TEST(MessagesTest, Welcome) {
  EXPECT_EQ(welcome_message({"newspushd/0.1.0", 65536, 64}),
            R"({"type":"welcome","protocol":1,"server":"newspushd/0.1.0",)"
            R"("max_frame_bytes":65536,"max_categories":64})");
}

TEST(MessagesTest, Subscribed) {
  EXPECT_EQ(subscribed_message({"*", "politique", "societe"}),
            R"({"type":"subscribed","categories":["*","politique","societe"]})");
  EXPECT_EQ(subscribed_message({}), R"({"type":"subscribed","categories":[]})");
  EXPECT_EQ(subscribed_message({"sports"}, "e:1-0", {"*"}),
            R"({"type":"subscribed","categories":["sports"],"cursor":"e:1-0","trending":["*"]})");
}

TEST(MessagesTest, Pong) { EXPECT_EQ(pong_message(), R"({"type":"pong"})"); }

TEST(MessagesTest, Error) {
  EXPECT_EQ(error_message("unknown_op", R"(unknown op "publish")"),
            R"({"type":"error","code":"unknown_op","message":"unknown op \"publish\""})");
}

TEST(MessagesTest, ErrorEscapesNewlinesAndKeepsUtf8) {
  std::string message = error_message("bad_category", "ligne 1\nligne 2 société\r\t");
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_NE(message.find(R"(ligne 1\nligne 2 société\r\t)"), std::string::npos) << message;
}

TEST(MessagesTest, ErrorNeverThrowsOnInvalidUtf8) {
  std::string message;
  EXPECT_NO_THROW(message = error_message("bad_category", "soci\xe9t\xe9"));
  EXPECT_TRUE(Json::accept(message)) << message;
}

TEST(MessagesTest, ArticleEvent) {
  Article article{"a1", "politique", false, R"({"id":"a1","category":"politique","title":"T"})"};
  EXPECT_EQ(article_event(article), R"({"type":"article","category":"politique","breaking":false,)"
                                    R"("article":{"id":"a1","category":"politique","title":"T"}})");
  article.breaking = true;
  EXPECT_EQ(article_event(article), R"({"type":"article","category":"politique","breaking":true,)"
                                    R"("article":{"id":"a1","category":"politique","title":"T"}})");
}

TEST(MessagesTest, ArticleEventEmbedsJsonVerbatim) {
  // A re-parse would print 1.50 as 1.5 and could reorder keys: the bytes must come through as is.
  Article article{"a", "sante", false, R"({"z":1.50,"a":"\u00e9","id":"a"})"};
  std::string event = article_event(article);
  EXPECT_TRUE(event.ends_with(R"("article":{"z":1.50,"a":"\u00e9","id":"a"}})")) << event;
}

TEST(MessagesTest, ArticleEventRoundTripsFromParsedArticle) {
  auto parsed = parse_article(
      R"({"id":"s-9","category":"societe","title":"La société\nbouge","breaking":true,)"
      R"("tags":["éducation"],"meta":{"b":2,"a":1}})",
      1 << 20);
  ASSERT_TRUE(parsed.ok()) << parsed.detail;
  std::string event = article_event(parsed.article);
  EXPECT_EQ(event.find('\n'), std::string::npos);
  Json decoded = Json::parse(event);
  EXPECT_EQ(decoded["type"], "article");
  EXPECT_EQ(decoded["category"], "societe");
  EXPECT_EQ(decoded["breaking"], true);
  EXPECT_EQ(decoded["article"]["title"], "La société\nbouge");
  EXPECT_EQ(decoded["article"].dump(), parsed.article.json);
  EXPECT_EQ(decoded.begin().key(), "type");
}

TEST(MessagesTest, ArticleEventEscapesCategory) {
  // Categories are validated upstream; escaping still keeps a bad one from breaking the frame.
  Article article{"a", "x\"\n", false, "{}"};
  std::string event = article_event(article);
  EXPECT_EQ(event.find('\n'), std::string::npos);
  ASSERT_TRUE(Json::accept(event)) << event;
  EXPECT_EQ(Json::parse(event)["category"], "x\"\n");
}

TEST(MessagesTest, CloseReason) {
  EXPECT_EQ(close_reason("slow_consumer"), R"({"code":"slow_consumer"})");
  EXPECT_EQ(close_reason("shutdown"), R"({"code":"shutdown"})");
  EXPECT_EQ(close_reason("too_many_errors"), R"({"code":"too_many_errors"})");
  EXPECT_EQ(close_reason("binary_frame"), R"({"code":"binary_frame"})");
}

TEST(MessagesTest, CloseReasonFitsIn123Bytes) {
  // {"code":""} takes 11 bytes, leaving 112 for the code.
  std::string longest(112, 'c');
  EXPECT_EQ(close_reason(longest), R"({"code":")" + longest + "\"}");
  EXPECT_EQ(close_reason(longest + "c"), R"({"code":")" + longest + "\"}");
  EXPECT_EQ(close_reason(std::string(10000, 'c')).size(), 123u);
}

TEST(MessagesTest, CloseReasonTruncationStaysValid) {
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "é";
  for (std::string code :
       {accents, "x" + accents, std::string(100, '\x01'), std::string(50, '"')}) {
    std::string reason = close_reason(code);
    EXPECT_LE(reason.size(), 123u);
    EXPECT_TRUE(Json::accept(reason)) << reason;
    EXPECT_EQ(reason.find('\n'), std::string::npos);
  }
}

TEST(MessagesTest, CloseCodes) {
  EXPECT_EQ(close_code::going_away, 1001);
  EXPECT_EQ(close_code::unsupported_data, 1003);
  EXPECT_EQ(close_code::invalid_payload, 1007);
  EXPECT_EQ(close_code::policy_violation, 1008);
  EXPECT_EQ(close_code::message_too_big, 1009);
  EXPECT_EQ(close_code::try_again_later, 1013);
}

TEST(MessagesTest, NoMessageHoldsARawNewline) {
  for (const std::string& message :
       {welcome_message({"newspushd\n", 1, 2}), subscribed_message({"a\nb"}), pong_message(),
        error_message("c\n", "m\n"), close_reason("c\n")}) {
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_TRUE(Json::accept(message)) << message;
  }
}

}  // namespace
}  // namespace newspush::protocol

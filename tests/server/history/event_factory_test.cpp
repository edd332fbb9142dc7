#include "server/history/event_factory.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace newspush {
namespace {

using nlohmann::json;

TEST(Notification, SplitsCursorKindAndBody) {
  auto n = parse_notification("e:1-0\narticle\n{\"a\":\n1}");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->cursor, "e:1-0");
  EXPECT_EQ(n->kind, "article");
  EXPECT_EQ(n->body, "{\"a\":\n1}");
  EXPECT_FALSE(parse_notification("e:1-0 article {}"));
  EXPECT_FALSE(parse_notification("e:1-0\narticle"));
}

TEST(HistoryEvent, ArticleCarriesCursorAndUpdateFlag) {
  auto built = build_history_event("e:5-1", "update",
                                   R"({"id":"a","category":"sports","title":"T","breaking":true})",
                                   1 << 16);
  ASSERT_TRUE(built.event);
  EXPECT_EQ(built.event->category, "sports");
  EXPECT_TRUE(built.event->breaking);
  ASSERT_TRUE(built.event->cursor);
  EXPECT_EQ(built.event->cursor->ms, 5u);
  auto frame = json::parse(built.event->message());
  EXPECT_EQ(frame["type"], "article");
  EXPECT_EQ(frame["cursor"], "e:5-1");
  EXPECT_EQ(frame["update"], true);
  EXPECT_EQ(frame["article"]["id"], "a");
}

TEST(HistoryEvent, RetractionIsRoutedLikeTheArticle) {
  auto built = build_history_event("e:6-0", "retract",
                                   R"({"breaking":false,"category":"culture","id":"a"})", 1 << 16);
  ASSERT_TRUE(built.event);
  EXPECT_EQ(built.event->category, "culture");
  auto frame = json::parse(built.event->message());
  EXPECT_EQ(frame, json({{"type", "retract"}, {"cursor", "e:6-0"}, {"id", "a"},
                         {"category", "culture"}, {"breaking", false}}));
}

TEST(HistoryEvent, InvalidInputIsRejectedWithAReason) {
  EXPECT_EQ(build_history_event("bad", "article", "{}", 100).error, protocol::ArticleError::not_json);
  EXPECT_EQ(build_history_event("e:1-0", "weird", "{}", 100).error, protocol::ArticleError::not_json);
  EXPECT_EQ(build_history_event("e:1-0", "article", R"({"id":"a","category":"X","title":"t"})", 100)
                .error,
            protocol::ArticleError::bad_category);
  EXPECT_EQ(build_history_event("e:1-0", "retract", R"({"category":"x"})", 100).error,
            protocol::ArticleError::bad_id);
}

// Found by fuzz/trending_payload_fuzz (the same parser): a NUL byte ended the JSON early.
TEST(HistoryEvent, ARetractionWithANulByteIsRejected) {
  using namespace std::string_literals;
  const std::string body = R"({"id":"a","category":"x"})";
  EXPECT_TRUE(build_history_event("e:1-0", "retract", body, 100).event);
  EXPECT_FALSE(build_history_event("e:1-0", "retract", body + "\0\xff"s, 100).event);
}

TEST(LiveArticle, HasNoCursor) {
  auto built = build_live_article(R"({"id":"a","category":"sports","title":"T"})", 1 << 16);
  ASSERT_TRUE(built.event);
  EXPECT_FALSE(built.event->cursor);
  EXPECT_FALSE(json::parse(built.event->message()).contains("cursor"));
}

}  // namespace
}  // namespace newspush

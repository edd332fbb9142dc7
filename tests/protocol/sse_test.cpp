#include "protocol/sse.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol/messages.hpp"

namespace newspush::protocol {
namespace {

using ::testing::ElementsAre;

Subscribe parsed(std::string_view query, std::size_t max = 64) {
  auto result = parse_stream_query(query, max);
  if (auto* error = std::get_if<CommandError>(&result)) {
    ADD_FAILURE() << query << ": " << error->code << " " << error->message;
    return {};
  }
  return std::get<Subscribe>(result);
}

std::string error_code(std::string_view query, std::size_t max = 64) {
  auto result = parse_stream_query(query, max);
  auto* error = std::get_if<CommandError>(&result);
  return error ? error->code : "none";
}

TEST(StreamQueryTest, ReadsCommaSeparatedListsAndTheCursor) {
  auto subscribe = parsed("categories=sports,politique&trending=*&since=ab:1-0");
  EXPECT_THAT(subscribe.categories, ElementsAre("sports", "politique"));
  EXPECT_THAT(subscribe.trending, ElementsAre("*"));
  EXPECT_EQ(subscribe.since, "ab:1-0");
}

TEST(StreamQueryTest, DecodesPercentEscapesDropsDuplicatesAndEmptyEntries) {
  auto subscribe = parsed("categories=sports%2Cculture,,sports,&trending=%2a&x=1&since=ab%3A1-0");
  EXPECT_THAT(subscribe.categories, ElementsAre("sports", "culture"));
  EXPECT_THAT(subscribe.trending, ElementsAre("*"));
  EXPECT_EQ(subscribe.since, "ab:1-0");
}

TEST(StreamQueryTest, TrendingAloneIsEnough) {
  auto subscribe = parsed("trending=sports");
  EXPECT_TRUE(subscribe.categories.empty());
  EXPECT_FALSE(subscribe.since);
}

TEST(StreamQueryTest, RefusesWhatASubscribeCommandWouldWithTheSameCodes) {
  EXPECT_EQ(error_code(""), "bad_categories");
  EXPECT_EQ(error_code("categories="), "bad_categories");
  EXPECT_EQ(error_code("categories=,,"), "bad_categories");
  EXPECT_EQ(error_code("categories=Sports"), "bad_category");
  EXPECT_EQ(error_code("categories=soci%C3%A9t%C3%A9"), "bad_category");
  EXPECT_EQ(error_code("categories=a+b"), "bad_category");
  EXPECT_EQ(error_code("categories=sports%2"), "bad_category");  // a broken escape stays as is
  EXPECT_EQ(error_code("categories=" + std::string(33, 'a')), "bad_category");
  EXPECT_EQ(error_code("categories=a,b,c", 2), "too_many_categories");
  EXPECT_EQ(error_code("categories=a,a,b", 2), "none");
  EXPECT_EQ(error_code("categories=a&trending=B"), "bad_trending");
  EXPECT_EQ(error_code("categories=a&since="), "bad_since");
  EXPECT_EQ(error_code("categories=a&since=" + std::string(129, 'c')), "bad_since");
  EXPECT_EQ(error_code("categories=a&since=" + std::string(128, 'c')), "none");
  // It is written back as an "id:" line: a newline would forge events.
  EXPECT_EQ(error_code("categories=a&since=ab%0Aevent:%20x"), "bad_since");
  EXPECT_EQ(error_code("categories=a&since=ab%00"), "bad_since");
  EXPECT_EQ(error_code("categories=a&since=ab%7F"), "bad_since");
}

TEST(SseEventTest, FramesTypeIdAndDataAsEventSourceReadsThem) {
  EXPECT_EQ(sse_event("article", "ab:1-0", R"({"type":"article"})"),
            "event: article\nid: ab:1-0\ndata: {\"type\":\"article\"}\n\n");
  EXPECT_EQ(sse_event("trending", "", "{}"), "event: trending\ndata: {}\n\n");
}

TEST(SseEventTest, MessageTypeIsTheLeadingTypeField) {
  EXPECT_EQ(message_type(reset_message("unknown_cursor", "ab:1-0")), "reset");
  EXPECT_EQ(message_type(resumed_message(2, "ab:1-0")), "resumed");
  EXPECT_EQ(message_type(close_message("shutdown")), "close");
  EXPECT_EQ(message_type(R"({"category":"x","type":"article"})"), "");
  EXPECT_EQ(message_type(""), "");
}

TEST(SseEventTest, ServerMessagesNeverHoldANewlineThatWouldSplitTheData) {
  std::string message = error_message("bad", "line one\nline two");
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace newspush::protocol

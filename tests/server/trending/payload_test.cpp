#include "server/trending/payload.hpp"

#include <gtest/gtest.h>

namespace newspush::trending {
namespace {

const std::string kFrame = R"({"type":"trending","category":"sports","items":[],"at":1})";

TEST(TrendingPayload, ParsesSequenceCategoryAndFrame) {
  auto parsed = parse_payload("42\nsports\n" + kFrame);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->seq, 42u);
  EXPECT_EQ(parsed->category, "sports");
  EXPECT_EQ(parsed->frame, kFrame);
  EXPECT_TRUE(parse_payload(R"(7)" "\n*\n" R"({"type":"trending","category":"*","items":[]})"));
}

TEST(TrendingPayload, AnythingOffIsRefused) {
  EXPECT_FALSE(parse_payload(""));
  EXPECT_FALSE(parse_payload("42\nsports"));
  EXPECT_FALSE(parse_payload("x\nsports\n" + kFrame));
  EXPECT_FALSE(parse_payload("-1\nsports\n" + kFrame));
  EXPECT_FALSE(parse_payload("\nsports\n" + kFrame));
  EXPECT_FALSE(parse_payload("42\nSports\n" + kFrame));
  EXPECT_FALSE(parse_payload("42\nculture\n" + kFrame));  // frame of another category
  EXPECT_FALSE(parse_payload("42\nsports\n"));
  EXPECT_FALSE(parse_payload("42\nsports\n" + kFrame + "\n" + kFrame));
  EXPECT_FALSE(parse_payload("42\nsports\nnot json"));
  EXPECT_FALSE(parse_payload("42\nsports\n[1,2]"));
  EXPECT_FALSE(parse_payload(R"(42)" "\nsports\n" R"({"type":"article","category":"sports","items":[]})"));
  EXPECT_FALSE(parse_payload(R"(42)" "\nsports\n" R"({"type":1,"category":"sports","items":[]})"));
  EXPECT_FALSE(parse_payload(R"(42)" "\nsports\n" R"({"type":"trending","category":"sports","items":{}})"));
  EXPECT_FALSE(parse_payload("42\nsports\n{\"type\":\"trending\",\"category\":\"sports\",\"items\":[\"\xff\"]}"));
}

// Found by fuzz/trending_payload_fuzz: nlohmann/json stops at a NUL byte as at the end of input,
// so a valid list followed by a NUL and any bytes passed, and those bytes (invalid UTF-8 too)
// went to every client as is.
TEST(TrendingPayload, NothingMayFollowTheListAfterANulByte) {
  using namespace std::string_literals;
  EXPECT_FALSE(parse_payload("42\nsports\n" + kFrame + "\0"s));
  EXPECT_FALSE(parse_payload("42\nsports\n" + kFrame + "\0garbage\x9d"s));
}

}  // namespace
}  // namespace newspush::trending

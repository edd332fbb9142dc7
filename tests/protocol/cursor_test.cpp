#include "protocol/cursor.hpp"

#include <gtest/gtest.h>

namespace newspush::protocol {
namespace {

TEST(CursorTest, ParsesAndFormatsRoundTrip) {
  auto cursor = parse_cursor("hol8isnysa:1795890100477-3");
  ASSERT_TRUE(cursor);
  EXPECT_EQ(cursor->epoch, "hol8isnysa");
  EXPECT_EQ(cursor->ms, 1795890100477u);
  EXPECT_EQ(cursor->seq, 3u);
  EXPECT_EQ(to_string(*cursor), "hol8isnysa:1795890100477-3");
}

TEST(CursorTest, RejectsMalformed) {
  for (const char* text : {"", "nonsense", ":1-0", "e:1", "e:-1", "e:1-", "e:x-1", "e:1-0x",
                           "e:99999999999999999999-0"})
    EXPECT_FALSE(parse_cursor(text)) << text;
}

TEST(CursorTest, OrdersWithinOneEpochOnly) {
  auto a = *parse_cursor("e:100-0");
  auto b = *parse_cursor("e:100-1");
  auto c = *parse_cursor("e:101-0");
  auto other = *parse_cursor("f:999-0");
  EXPECT_TRUE(b.is_after(a));
  EXPECT_TRUE(c.is_after(b));
  EXPECT_FALSE(a.is_after(a));
  EXPECT_FALSE(a.is_after(c));
  EXPECT_FALSE(other.is_after(a));
  EXPECT_FALSE(a.is_after(other));
}

}  // namespace
}  // namespace newspush::protocol

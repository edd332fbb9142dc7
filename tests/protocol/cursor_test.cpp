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

// "Same epoch and not after": what a resume, the live feed and a worker's head skip as had.
TEST(CursorTest, AtOrBeforeIsWithinOneEpochOnly) {
  auto a = *parse_cursor("e:100-0");
  auto b = *parse_cursor("e:100-1");
  auto c = *parse_cursor("e:101-0");
  auto other_epoch_earlier = *parse_cursor("f:1-0");
  auto other_epoch_later = *parse_cursor("f:999-0");
  EXPECT_TRUE(a.is_at_or_before(a));  // the same position was had
  EXPECT_TRUE(a.is_at_or_before(b));
  EXPECT_TRUE(b.is_at_or_before(c));
  EXPECT_TRUE(a.is_at_or_before(c));
  EXPECT_FALSE(b.is_at_or_before(a));
  EXPECT_FALSE(c.is_at_or_before(a));
  // Another history: never had, whichever numbers are bigger.
  EXPECT_FALSE(other_epoch_earlier.is_at_or_before(c));
  EXPECT_FALSE(other_epoch_later.is_at_or_before(a));
  EXPECT_FALSE(a.is_at_or_before(other_epoch_later));
  EXPECT_FALSE(c.is_at_or_before(other_epoch_earlier));
  // Sequence numbers decide within a millisecond, milliseconds before them.
  EXPECT_TRUE(parse_cursor("e:100-9")->is_at_or_before(*parse_cursor("e:101-0")));
  EXPECT_FALSE(parse_cursor("e:101-0")->is_at_or_before(*parse_cursor("e:100-9")));
}

}  // namespace
}  // namespace newspush::protocol

#include "server/net/frame_fifo.hpp"

#include <gtest/gtest.h>

namespace newspush {
namespace {

SharedFrame frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

TEST(FrameFifo, FirstInFirstOut) {
  FrameFifo fifo;
  EXPECT_TRUE(fifo.empty());
  fifo.push_back(frame("a"));
  fifo.emplace_back(frame("b"));
  EXPECT_EQ(*fifo.front(), "a");
  fifo.pop_front();
  fifo.push_back(frame("c"));
  EXPECT_EQ(*fifo.front(), "b");
  fifo.pop_front();
  EXPECT_EQ(*fifo.front(), "c");
  fifo.pop_front();
  EXPECT_TRUE(fifo.empty());
}

TEST(FrameFifo, PoppedFramesAreReleasedAtOnce) {
  FrameFifo fifo;
  auto shared = frame("x");
  fifo.push_back(shared);
  fifo.push_back(frame("y"));
  EXPECT_EQ(shared.use_count(), 2);
  fifo.pop_front();
  EXPECT_EQ(shared.use_count(), 1);
  fifo.clear();
  EXPECT_TRUE(fifo.empty());
}

}  // namespace
}  // namespace newspush

#include "server/net/send_queue.hpp"

#include <gtest/gtest.h>

namespace newspush {
namespace {

SharedFrame frame(std::size_t size) { return std::make_shared<const std::string>(size, 'x'); }

TEST(SendQueue, BoundedInBytes) {
  SendQueue queue(100);
  EXPECT_TRUE(queue.push(frame(60)));
  EXPECT_TRUE(queue.push(frame(40)));
  EXPECT_EQ(queue.bytes(), 100u);
  EXPECT_FALSE(queue.push(frame(1)));
  EXPECT_EQ(queue.size(), 2u);
}

TEST(SendQueue, TakeAllEmptiesTheQueueInOrderAndSharesFrames) {
  SendQueue queue(1000);
  auto a = frame(10), b = frame(20);
  queue.push(a);
  queue.push(b);
  std::vector<SharedFrame> batch{frame(5)};
  queue.take_all(batch);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].get(), a.get());
  EXPECT_EQ(batch[1].get(), b.get());
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_TRUE(queue.push(frame(1000)));
}

TEST(SendQueue, ClearReleasesReferences) {
  SendQueue queue(1000);
  auto a = frame(10);
  queue.push(a);
  EXPECT_EQ(a.use_count(), 2);
  queue.clear();
  EXPECT_EQ(a.use_count(), 1);
  EXPECT_EQ(queue.bytes(), 0u);
}

}  // namespace
}  // namespace newspush

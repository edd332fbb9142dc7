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

// A trending list as the hub shares it: the key points into the frame's owner.
SharedFrame keyed(const std::string& category, std::string text, std::string_view& key) {
  auto owner = std::make_shared<TrendingUpdate>(TrendingUpdate{category, std::move(text), {}});
  key = owner->category;
  return SharedFrame(owner, &owner->frame);
}

TEST(SendQueue, ANewerListReplacesTheQueuedOneInPlace) {
  SendQueue queue(1000);
  std::string_view key;
  auto article = frame(10);
  queue.push(article);
  queue.push_latest("sports", keyed("sports", "sports v1", key));
  EXPECT_FALSE(queue.push_latest(key, keyed("culture", "culture v1", key)));
  queue.push(frame(20));
  EXPECT_TRUE(queue.push_latest("sports", keyed("sports", "sports v2", key)));
  EXPECT_TRUE(queue.push_latest("sports", keyed("sports", "sports v3", key)));
  EXPECT_EQ(queue.keyed_count(), 2u);

  std::vector<SharedFrame> batch;
  queue.take_all(batch);
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch[0].get(), article.get());
  EXPECT_EQ(*batch[1], "sports v3");  // where v1 was
  EXPECT_EQ(*batch[2], "culture v1");
  EXPECT_EQ(batch[3]->size(), 20u);
  EXPECT_EQ(queue.keyed_count(), 0u);
  // Once written, the next list queues anew.
  EXPECT_FALSE(queue.push_latest("sports", keyed("sports", "sports v4", key)));
}

TEST(SendQueue, ListsNeverCountTowardTheBound) {
  SendQueue queue(100);
  std::string_view key;
  EXPECT_FALSE(queue.push_latest("sports", keyed("sports", std::string(500, 'x'), key)));
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_TRUE(queue.push(frame(100)));
  EXPECT_FALSE(queue.push(frame(1)));  // articles still hit the bound
  EXPECT_TRUE(queue.push_latest("sports", keyed("sports", std::string(900, 'y'), key)));
  EXPECT_EQ(queue.size(), 2u);
  queue.clear();
  EXPECT_EQ(queue.keyed_count(), 0u);
}

}  // namespace newspush

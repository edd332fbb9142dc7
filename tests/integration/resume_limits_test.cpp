// What one resume may cost the server: recent cursors are served from the node's window without
// Redis, a replay past the limits is a reset, Redis reads are capped node-wide, and a connection
// resumes once. Real redis-server, real newspushd processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/articles.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using nlohmann::json;

std::unique_ptr<WsClient> resume(std::uint16_t port, const std::vector<std::string>& categories,
                                 const std::string& since) {
  auto client = WsClient::connect(port);
  EXPECT_TRUE(client->next_event_of_type("welcome"));
  client->send_text(json({{"op", "subscribe"}, {"categories", categories}, {"since", since}}).dump());
  return client;
}

class ResumeLimitsTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {}) {
    node_ = std::make_unique<NewspushdProcess>(redis_.url(), std::move(args));
    ASSERT_TRUE(node_->wait_ready()) << node_->output();
    observer_ = WsClient::connect(node_->port());
    ASSERT_TRUE(observer_->subscribe({"*"}));
  }
  // Publishes n articles of `category` and waits until the node has delivered them (so they are
  // in its window); returns their cursors.
  std::vector<std::string> publish_delivered(int n, const std::string& category = "sports") {
    std::vector<std::string> cursors;
    for (int i = 0; i < n; ++i)
      cursors.push_back(publish(redis_, make_article(category + std::to_string(next_++), category)));
    EXPECT_EQ(observer_->collect_articles(n).size(), static_cast<std::size_t>(n));
    return cursors;
  }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> node_;
  std::unique_ptr<WsClient> observer_;
  int next_ = 0;
};

TEST_F(ResumeLimitsTest, ARecentCursorIsServedFromTheWindowEvenWhileRedisIsStalled) {
  start();
  auto cursors = publish_delivered(5);
  // Redis answers nobody for a while: a resume that needed it could not complete meanwhile.
  redis_.command({"CLIENT", "PAUSE", "20000", "ALL"});
  auto client = resume(node_->port(), {"sports"}, cursors[1]);
  auto replayed = client->collect_articles(3, 5s);
  ASSERT_EQ(replayed.size(), 3u) << node_->output();
  EXPECT_EQ(replayed[0]["cursor"], cursors[2]);
  EXPECT_EQ(replayed[2]["cursor"], cursors[4]);
  auto resumed = client->next_event_of_type("resumed", 5s);
  ASSERT_TRUE(resumed);
  EXPECT_EQ((*resumed)["replayed"], 3);
  EXPECT_EQ((*resumed)["cursor"], cursors[4]);
}

TEST_F(ResumeLimitsTest, AResumeFromTheWindowPastTheEventLimitIsAReset) {
  start({"--max-replay-events", "3"});
  auto cursors = publish_delivered(6);
  auto client = resume(node_->port(), {"sports"}, cursors[0]);
  auto reset = client->next_event_of_type("reset");
  ASSERT_TRUE(reset);
  EXPECT_EQ((*reset)["reason"], "replay_too_long");
  EXPECT_EQ((*reset)["cursor"], cursors[5]);
  // Three events after the cursor are within the limit.
  auto near = resume(node_->port(), {"sports"}, cursors[2]);
  EXPECT_EQ(near->collect_articles(3).size(), 3u);
  auto resumed = near->next_event_of_type("resumed");
  ASSERT_TRUE(resumed);
  EXPECT_EQ((*resumed)["replayed"], 3);
  // The reset client carries on live from its cursor.
  std::string next = publish(redis_, make_article("after", "sports"));
  auto live = client->next_event_of_type("article");
  ASSERT_TRUE(live);
  EXPECT_EQ((*live)["cursor"], next);
  EXPECT_EQ(node_->metric("newspush_resumes_total{source=\"window\"}"), 1);
  EXPECT_EQ(node_->metric("newspush_resumes_total{source=\"reset\"}"), 1);
  EXPECT_EQ(node_->metric("newspush_resumes_total{source=\"redis\"}"), 0);
}

TEST_F(ResumeLimitsTest, AResumeFromRedisPastTheEventLimitIsAReset) {
  // No window: every resume reads the history.
  start({"--replay-window", "0", "--max-replay-events", "3"});
  auto cursors = publish_delivered(6);
  auto far = resume(node_->port(), {"sports"}, cursors[0]);
  auto reset = far->next_event_of_type("reset");
  ASSERT_TRUE(reset);
  EXPECT_EQ((*reset)["reason"], "replay_too_long");
  auto near = resume(node_->port(), {"culture"}, cursors[2]);  // counts all categories, sends none
  auto resumed = near->next_event_of_type("resumed");
  ASSERT_TRUE(resumed);
  EXPECT_EQ((*resumed)["replayed"], 0);
  EXPECT_EQ((*resumed)["cursor"], cursors[5]);
  EXPECT_EQ(node_->metric("newspush_resumes_total{source=\"window\"}"), 0);
  EXPECT_EQ(node_->metric("newspush_resumes_total{source=\"redis\"}"), 2);
}

TEST_F(ResumeLimitsTest, AResumeFromRedisPastTheByteLimitIsAReset) {
  start({"--replay-window", "0", "--max-replay-bytes", "1024"});
  json big = make_article("big", "sports");
  big["summary"] = std::string(2000, 'x');
  std::string before = publish_delivered(1)[0];
  publish(redis_, big);
  ASSERT_EQ(observer_->collect_articles(1).size(), 1u);
  auto client = resume(node_->port(), {"sports"}, before);
  auto reset = client->next_event_of_type("reset");
  ASSERT_TRUE(reset);
  EXPECT_EQ((*reset)["reason"], "replay_too_long");
}

TEST_F(ResumeLimitsTest, AConnectionResumesOnceEvenWithoutCategories) {
  start();
  auto cursors = publish_delivered(2);
  auto client = WsClient::connect(node_->port());
  ASSERT_TRUE(client->next_event_of_type("welcome"));
  json command = {{"op", "subscribe"}, {"categories", json::array()}, {"trending", {"*"}},
                  {"since", cursors[0]}};
  client->send_text(command.dump());
  ASSERT_TRUE(client->next_event_of_type("resumed"));
  client->send_text(command.dump());
  auto error = client->next_event_of_type("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "bad_since");
}

TEST_F(ResumeLimitsTest, ResumesReadingRedisAreCappedNodeWide) {
  start({"--replay-window", "0", "--max-history-reads", "1"});
  auto cursors = publish_delivered(3);
  // Holds the first resume's read in Redis until the pause ends: meanwhile its slot is taken.
  redis_.command({"CLIENT", "PAUSE", "8000", "ALL"});
  auto first = resume(node_->port(), {"sports"}, cursors[0]);
  // Its "subscribed" is sent after the slot was taken.
  ASSERT_TRUE(first->next_event_of_type("subscribed"));
  auto second = resume(node_->port(), {"sports"}, cursors[0]);
  ASSERT_TRUE(second->wait_closed(7s)) << "the second resume should not wait for the first";
  EXPECT_EQ(second->close_code(), 1013);
  EXPECT_THAT(second->close_reason(), ::testing::HasSubstr("history_busy"));
  // The first one is served once Redis answers again, and the slot is free again.
  EXPECT_EQ(first->collect_articles(2, 20s).size(), 2u);
  ASSERT_TRUE(first->next_event_of_type("resumed"));
  auto third = resume(node_->port(), {"sports"}, cursors[1]);
  EXPECT_EQ(third->collect_articles(1).size(), 1u);
  EXPECT_EQ(node_->metric("newspush_connections_closed_total{reason=\"history_busy\"}"), 1);
}

}  // namespace
}  // namespace newspush::test

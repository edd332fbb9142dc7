// What anonymous clients can make one node do is bounded by what the newsroom publishes, not by
// what they ask: article lists without a scan per request, client-chosen category names that add
// no metric series, thousands of connects from one address, fragmented frames. Meanwhile a normal
// client keeps getting every article. Real redis-server, real newspushd processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/raw_tcp.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using nlohmann::json;

// FCALLs Redis has run so far (every history read of a node is one).
long fcalls(RedisServer& redis) {
  std::string info = redis.command_string({"INFO", "commandstats"});
  std::smatch match;
  if (!std::regex_search(info, match, std::regex(R"(cmdstat_fcall:calls=(\d+))"))) return 0;
  return std::stol(match[1]);
}

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return -1;
}

// A memory bound in KiB for a release newspushd. Sanitized builds weigh every allocation more
// (ASan's redzones, TSan's shadow memory): scripts/sanitizer-test.sh says by how much in
// NEWSPUSH_SANITIZER_MEMORY_FACTOR, so the bound still catches growth that is not bounded.
long memory_bound_kib(long release_kib) {
  const char* factor = std::getenv("NEWSPUSH_SANITIZER_MEMORY_FACTOR");
  return release_kib * (factor ? std::max(1L, std::atol(factor)) : 1L);
}

std::size_t series_count(const std::string& metrics, const std::string& name) {
  std::size_t n = 0;
  for (std::size_t at = metrics.find(name + "{"); at != std::string::npos;
       at = metrics.find(name + "{", at + 1))
    ++n;
  return n;
}

std::string upgrade_request() {
  return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

class BoundedWorkTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {}) {
    // Rankings are not under test: their ticks would add FCALLs of their own.
    args.insert(args.end(), {"--trending-interval", "1h"});
    node_ = std::make_unique<NewspushdProcess>(redis_.url(), std::move(args));
    ASSERT_TRUE(node_->wait_ready()) << node_->output();
    reader_ = WsClient::connect(node_->port());
    ASSERT_TRUE(reader_->subscribe({"*"}));
  }
  // Publishes and waits until the normal reader got it: the node has delivered it.
  void publish_delivered(const json& article) {
    std::string cursor = publish(redis_, article);
    auto got = reader_->next_event_of_type("article");
    ASSERT_TRUE(got) << node_->output();
    ASSERT_EQ((*got)["cursor"], cursor);
  }
  std::size_t listed(const std::string& category) {
    auto response = http_get(node_->port(), "/api/v1/articles?category=" + category + "&limit=20");
    EXPECT_TRUE(response);
    if (!response) return 0;
    EXPECT_EQ(response->status, 200) << response->body;
    return json::parse(response->body).at("events").size();
  }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> node_;
  std::unique_ptr<WsClient> reader_;
};

TEST_F(BoundedWorkTest, ArticleListsCostRedisAReadPerPublishNotPerRequest) {
  start();
  for (int i = 0; i < 3; ++i) publish_delivered(make_article("s" + std::to_string(i), "sports"));
  long before = fcalls(redis_);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(listed("sports"), 3u);
  EXPECT_LE(fcalls(redis_) - before, 3) << "300 requests, one list: read once";
  // A new article moves the head: the next request reads the list again.
  publish_delivered(make_article("s3", "sports"));
  EXPECT_EQ(listed("sports"), 4u);
}

TEST_F(BoundedWorkTest, ArticleListsForNamesNobodyPublishesInAskRedisNothing) {
  start();
  publish_delivered(make_article("p1", "politique"));
  long before = fcalls(redis_);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(listed("nobody-" + std::to_string(i)), 0u);
  EXPECT_LE(fcalls(redis_) - before, 3);
  EXPECT_EQ(listed("politique"), 1u);
}

TEST_F(BoundedWorkTest, AHundredThousandCategoryNamesAddNoMetricSeries) {
  start({"--max-subscriptions", "5000"});
  publish_delivered(make_article("s1", "sports"));
  // What the names cost, not what the binary weighs (a sanitized build starts far bigger).
  const long rss_before = rss_kib(node_->process().pid());
  constexpr int kConnections = 20, kNamesEach = 5000;
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.push_back(WsClient::connect(node_->port()));
    json names = json::array();
    for (int n = 0; n < kNamesEach; ++n) names.push_back("c" + std::to_string(c * kNamesEach + n));
    auto answer = clients.back()->subscribe(names.get<std::vector<std::string>>());
    ASSERT_TRUE(answer && (*answer)["type"] == "subscribed") << (answer ? answer->dump() : "none");
  }
  std::string metrics = node_->metrics_text();
  // "*" (the reader) and the names nobody publishes in, together.
  EXPECT_LE(series_count(metrics, "newspush_subscriptions"), 3u) << metrics.substr(0, 2000);
  EXPECT_EQ(node_->metric("newspush_subscriptions{category=\"_other\"}"), kConnections * kNamesEach);
  // ~40 MiB in a release build (about 420 bytes a name); ~95 MiB under ASan, ~210 under TSan.
  EXPECT_LT(rss_kib(node_->process().pid()) - rss_before, memory_bound_kib(128 * 1024));
  // The normal reader is served meanwhile, and the names go with their connections.
  publish_delivered(make_article("s2", "sports"));
  clients.clear();
  ASSERT_TRUE(node_->wait_metric_at_most("newspush_connections", 1, 30s));  // the reader
  EXPECT_EQ(node_->metric_if_present("newspush_subscriptions{category=\"_other\"}").value_or(0), 0);
}

TEST_F(BoundedWorkTest, FiveThousandConnectsFromOneAddressGetTheirAnswerAndCostLittle) {
  start({"--max-connections-per-ip", "100"});  // the reader holds one of the hundred
  long rss_before = rss_kib(node_->process().pid());
  std::vector<std::unique_ptr<RawTcp>> upgraded;
  int refused = 0;
  for (int i = 0; i < 5000; ++i) {
    auto tcp = std::make_unique<RawTcp>(node_->port());
    ASSERT_TRUE(tcp->send(upgrade_request()));
    auto status = tcp->read_status();
    ASSERT_TRUE(status) << "connect " << i << " got no answer";
    if (*status == 101) upgraded.push_back(std::move(tcp));
    else if (*status == 429) ++refused;
    else FAIL() << "connect " << i << " answered " << *status;
  }
  EXPECT_EQ(upgraded.size(), 99u);
  EXPECT_EQ(refused, 4901);
  EXPECT_EQ(node_->metric("newspush_connections_refused_total{reason=\"per_ip\"}"), 4901);
  publish_delivered(make_article("b1", "politique", true));
  // A hundred connections and 4,901 answered refusals: a few MB at most, not one per connect.
  EXPECT_LT(rss_kib(node_->process().pid()) - rss_before, memory_bound_kib(64 * 1024));
}

TEST_F(BoundedWorkTest, AFloodOfResumesFromAncientCursorsGetsResetsOrWaitsAndCostsLittle) {
  // No window: every resume goes to Redis, where the history still holds the cursor, and the
  // 299 events after it are more than one resume may replay.
  start({"--replay-window", "0", "--max-replay-events", "100", "--max-history-reads", "2"});
  std::string ancient = publish(redis_, make_article("a0", "sports"));
  for (int i = 1; i < 300; ++i) publish(redis_, make_article("a" + std::to_string(i), "sports"));
  ASSERT_EQ(reader_->collect_articles(300, 30s).size(), 300u);
  long fcalls_before = fcalls(redis_);
  constexpr int kResumes = 300;
  std::vector<std::unique_ptr<WsClient>> clients;
  json command = {{"op", "subscribe"}, {"categories", {"sports"}}, {"since", ancient}};
  for (int i = 0; i < kResumes; ++i) {
    clients.push_back(WsClient::connect(node_->port()));
    clients.back()->send_text(command.dump());
  }
  int reset = 0, busy = 0;
  for (auto& client : clients) {
    // Each gets its documented answer: reset (after reading at most 101 entries), or 1013
    // history_busy while two other resumes read Redis.
    auto answer = client->next_event_of_type("reset", 30s);
    if (answer) {
      EXPECT_EQ((*answer)["reason"], "replay_too_long");
      ++reset;
    } else {
      ASSERT_TRUE(client->closed()) << "neither reset nor closed";
      EXPECT_EQ(client->close_code(), 1013);
      EXPECT_THAT(client->close_reason(), ::testing::HasSubstr("history_busy"));
      ++busy;
    }
  }
  EXPECT_EQ(reset + busy, kResumes);
  EXPECT_GE(reset, 1);
  // Each replay read stopped at the limit: two pages of 100 entries, not all 299 after the cursor
  // (the third page), however many clients asked.
  EXPECT_LE(fcalls(redis_) - fcalls_before, 2 * reset + 3);
  publish_delivered(make_article("after-the-flood", "sports"));
}

TEST_F(BoundedWorkTest, FragmentedCommandsAreReassembledAndBoundedAsAWhole) {
  start({"--max-frame", "1024"});
  auto raw = RawWsClient::connect(node_->port());
  ASSERT_TRUE(raw->read_frame());  // welcome
  // One command in three frames: a text frame, then continuations (opcode 0).
  std::string command = R"({"op":"subscribe","categories":["sports"]})";
  ASSERT_TRUE(raw->send_frame(RawWsClient::kText, command.substr(0, 10), false));
  ASSERT_TRUE(raw->send_frame(0x0, command.substr(10, 10), false));
  ASSERT_TRUE(raw->send_frame(0x0, command.substr(20), true));
  auto answer = raw->read_frame();
  ASSERT_TRUE(answer);
  EXPECT_THAT(answer->payload, ::testing::HasSubstr("\"subscribed\""));
  // Small fragments that add up past the limit: the message is too big (1009), not each frame.
  auto endless = RawWsClient::connect(node_->port());
  ASSERT_TRUE(endless->read_frame());
  ASSERT_TRUE(endless->send_frame(RawWsClient::kText, std::string(100, ' '), false));
  for (int i = 0; i < 20; ++i)
    if (!endless->send_frame(0x0, std::string(100, ' '), false)) break;
  EXPECT_EQ(endless->read_close_code(), 1009);
  publish_delivered(make_article("s9", "sports"));
}

}  // namespace
}  // namespace newspush::test

// Trending: views in, ranked lists out, shared by every node through Redis. Real redis-server,
// real newspushd processes (a short --trending-interval so lists move within a test).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using nlohmann::json;

const std::string kKey = "trending-test-key-0123456789";
const std::vector<std::string> kNodeArgs{"--trending-interval", "200ms", "--publish-key", kKey};

// POST /api/v1/views with `count` views of each id; returns the parsed answer.
json post_views(std::uint16_t port, const std::vector<std::pair<std::string, int>>& views,
                int expect_status = 200) {
  json batch = json::array();
  for (const auto& [id, count] : views)
    for (int i = 0; i < count; ++i) batch.push_back({{"article", id}});
  auto response = http_request(port, "POST", "/api/v1/views", batch.dump(),
                               {{"Authorization", "Bearer " + kKey},
                                {"Content-Type", "application/json"}});
  if (!response) throw std::runtime_error("POST /api/v1/views failed");
  EXPECT_EQ(response->status, expect_status) << response->body;
  return json::parse(response->body, nullptr, false);
}

std::vector<std::string> ids_in(const json& list) {
  std::vector<std::string> ids;
  for (const auto& item : list.at("items")) ids.push_back(item.at("id").get<std::string>());
  return ids;
}

// The newest trending list of each category a client received.
class ListWatcher {
 public:
  explicit ListWatcher(WsClient& client) : client_(client) {}

  // Reads until the newest list of `category` has the ids `expected`; returns that list.
  std::optional<json> wait_for(const std::string& category, const std::vector<std::string>& expected,
                               std::chrono::milliseconds timeout = 15s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto it = newest_.find(category);
      if (it != newest_.end() && ids_in(it->second) == expected) return it->second;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return std::nullopt;
      auto event = client_.next_event_of_type("trending", left);
      if (!event) return std::nullopt;
      ++received_[(*event)["category"].get<std::string>()];
      newest_[(*event)["category"].get<std::string>()] = *event;
    }
  }
  std::size_t received(const std::string& category) const {
    auto it = received_.find(category);
    return it == received_.end() ? 0 : it->second;
  }

 private:
  WsClient& client_;
  std::map<std::string, json> newest_;
  std::map<std::string, std::size_t> received_;
};

json get_trending(std::uint16_t port, const std::string& category) {
  auto response = http_get(port, "/api/v1/trending?category=" + category);
  if (!response || response->status != 200) throw std::runtime_error("GET /api/v1/trending failed");
  return json::parse(response->body);
}

// Polls GET /api/v1/trending until the list's ids are `expected`.
bool wait_for_http_list(std::uint16_t port, const std::string& category,
                        const std::vector<std::string>& expected,
                        std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ids_in(get_trending(port, category)) == expected) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::unique_ptr<WsClient> subscriber(std::uint16_t port, const json& command,
                                     WsClientOptions options = {}) {
  options.port = port;
  auto client = WsClient::connect(options);
  EXPECT_TRUE(client->next_event_of_type("welcome"));
  client->send_text(command.dump());
  EXPECT_TRUE(client->next_event_of_type("subscribed"));
  return client;
}

class TrendingTest : public ::testing::Test {
 protected:
  std::unique_ptr<NewspushdProcess> start_node(std::vector<std::string> extra = {}) {
    auto args = kNodeArgs;
    args.insert(args.end(), extra.begin(), extra.end());
    auto node = std::make_unique<NewspushdProcess>(redis_.url(), args);
    EXPECT_TRUE(node->wait_ready()) << node->output();
    return node;
  }
  void publish_articles() {
    publish(redis_, make_article("spo-1", "sports"));
    publish(redis_, make_article("spo-2", "sports"));
    publish(redis_, make_article("cul-1", "culture"));
  }
  RedisServer redis_;
};

TEST_F(TrendingTest, ViewsOnNodeAReorderTheListsAClientOfNodeBReceives) {
  auto a = start_node();
  auto b = start_node();
  publish_articles();
  auto client = subscriber(b->port(), {{"op", "subscribe"}, {"categories", {"sports"}}, {"trending", {"*"}}});

  ListWatcher lists(*client);
  auto counts = post_views(a->port(), {{"spo-1", 3}, {"spo-2", 1}, {"cul-1", 2}, {"nope", 1}});
  EXPECT_EQ(counts, json({{"counted", 6}, {"unknown", 1}}));
  auto sports = lists.wait_for("sports", {"spo-1", "spo-2"});
  ASSERT_TRUE(sports) << b->output();
  EXPECT_NEAR((*sports)["items"][0]["score"].get<double>(), 3.0, 0.01);
  EXPECT_EQ((*sports)["items"][0]["title"], "Titre spo-1");
  EXPECT_EQ((*sports)["items"][0]["category"], "sports");
  EXPECT_TRUE((*sports)["at"].is_number());
  ASSERT_TRUE(lists.wait_for("*", {"spo-1", "cul-1", "spo-2"}));

  post_views(a->port(), {{"spo-2", 5}});
  ASSERT_TRUE(lists.wait_for("sports", {"spo-2", "spo-1"}));
  ASSERT_TRUE(lists.wait_for("*", {"spo-2", "spo-1", "cul-1"}));

  // Both nodes serve the very same lists (same computation, same bytes).
  ASSERT_TRUE(wait_for_http_list(a->port(), "sports", {"spo-2", "spo-1"}));
  ASSERT_TRUE(wait_for_http_list(b->port(), "sports", {"spo-2", "spo-1"}));
  EXPECT_EQ(get_trending(a->port(), "sports"), get_trending(b->port(), "sports"));
  EXPECT_EQ(get_trending(a->port(), "*"), get_trending(b->port(), "*"));
  // The client never got a culture list: it neither subscribed to culture nor asked for it.
  lists.wait_for("culture", {"never"}, 300ms);
  EXPECT_EQ(lists.received("culture"), 0u);
}

TEST_F(TrendingTest, SubscribersAndNewNodesGetTheCurrentListAtOnce) {
  auto a = start_node();
  publish_articles();
  post_views(a->port(), {{"cul-1", 2}});
  ASSERT_TRUE(wait_for_http_list(a->port(), "culture", {"cul-1"}));
  auto published = a->metric("newspush_trending_lists_published_total");

  // Nothing changes any more, so what arrives now comes from what the node keeps.
  auto client = subscriber(a->port(), {{"op", "subscribe"}, {"categories", {"culture"}}});
  auto list = client->next_event_of_type("trending", 5s);
  ASSERT_TRUE(list);
  EXPECT_EQ((*list)["category"], "culture");
  EXPECT_EQ(ids_in(*list), std::vector<std::string>{"cul-1"});

  // A node started later loads the current lists from Redis.
  auto late = start_node();
  ASSERT_TRUE(wait_for_http_list(late->port(), "culture", {"cul-1"}));
  EXPECT_EQ(get_trending(late->port(), "culture"), get_trending(a->port(), "culture"));
  EXPECT_EQ(a->metric("newspush_trending_lists_published_total"), published);
  // Unknown lists are empty, bad categories are refused.
  EXPECT_EQ(get_trending(late->port(), "sante"), json::parse(R"({"type":"trending","category":"sante","items":[]})"));
  EXPECT_EQ(http_get(late->port(), "/api/v1/trending?category=Sant%C3%A9")->status, 400);
}

TEST_F(TrendingTest, WhenTheComputingNodeDiesAnotherTakesOver) {
  auto a = start_node();
  auto b = start_node();
  publish_articles();
  // Exactly one of them leads.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  NewspushdProcess* leader = nullptr;
  while (!leader && std::chrono::steady_clock::now() < deadline) {
    if (a->metric("newspush_trending_leader") == 1) leader = a.get();
    else if (b->metric("newspush_trending_leader") == 1) leader = b.get();
    else std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(leader, nullptr);
  NewspushdProcess* survivor = leader == a.get() ? b.get() : a.get();
  EXPECT_EQ(survivor->metric("newspush_trending_leader"), 0);
  auto client = subscriber(survivor->port(), {{"op", "subscribe"}, {"categories", {"sports"}}});
  ListWatcher lists(*client);
  post_views(survivor->port(), {{"spo-1", 2}});
  ASSERT_TRUE(lists.wait_for("sports", {"spo-1"}));

  leader->kill();  // SIGKILL: no chance to give the lease up
  auto killed_at = std::chrono::steady_clock::now();
  post_views(survivor->port(), {{"spo-2", 5}});
  ASSERT_TRUE(lists.wait_for("sports", {"spo-2", "spo-1"})) << survivor->output();
  auto handover = std::chrono::steady_clock::now() - killed_at;
  EXPECT_EQ(survivor->metric("newspush_trending_leader"), 1);
  // The lease is 3 intervals (600 ms here); the bound is generous for loaded CI machines.
  EXPECT_LT(handover, 10s);
  std::cout << "trending handover took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(handover).count() << " ms\n";
}

TEST_F(TrendingTest, WebSocketViewsCountOncePerArticleAndAreRateLimited) {
  auto node = start_node();
  for (int i = 0; i < 15; ++i) publish(redis_, make_article("v" + std::to_string(i), "sports"));
  auto client = subscriber(node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}});
  for (int i = 0; i < 3; ++i) client->send_text(R"({"op":"view","article":"v0"})");
  client->send_text(R"({"op":"view","article":"never-published"})");
  for (int i = 1; i < 15; ++i)
    client->send_text(json({{"op", "view"}, {"article", "v" + std::to_string(i)}}).dump());
  client->send_text(R"({"op":"view","article":42})");
  // Views are never answered; the bad one is.
  auto error = client->next_event_of_type("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "bad_article");
  client->send_text(R"({"op":"ping"})");
  // Nothing answers the views: before the pong, only a trending list they made (a slow run).
  for (;;) {
    auto event = client->next_event();
    ASSERT_TRUE(event);
    if ((*event)["type"] == "pong") break;
    EXPECT_EQ((*event)["type"], "trending") << *event;
  }

  // 19 views: 2 repeats; of the 16 distinct ones the first 10 pass the rate limit.
  auto total = [&] {
    double sum = 0;
    for (const char* result : {"counted", "unknown", "duplicate", "rate_limited", "dropped"})
      sum += node->metric(std::string("newspush_views_total{result=\"") + result + "\"}");
    return sum;
  };
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (total() < 18 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(total(), 18);
  EXPECT_EQ(node->metric("newspush_views_total{result=\"duplicate\"}"), 2);
  EXPECT_EQ(node->metric("newspush_views_total{result=\"unknown\"}"), 1);
  EXPECT_EQ(node->metric("newspush_views_total{result=\"dropped\"}"), 0);
  double counted = node->metric("newspush_views_total{result=\"counted\"}");
  EXPECT_GE(counted, 9);   // the burst, minus the unknown one
  EXPECT_LE(counted, 11);  // a token may refill on a very slow machine
  EXPECT_GE(node->metric("newspush_views_total{result=\"rate_limited\"}"), 4);
}

TEST_F(TrendingTest, TheViewsApiChecksKeysAndBodies) {
  auto node = start_node();
  auto unauthorized = http_request(node->port(), "POST", "/api/v1/views", R"([{"article":"a"}])");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  auto bad = http_request(node->port(), "POST", "/api/v1/views", R"({"article":"a"})",
                          {{"Authorization", "Bearer " + kKey}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"], "bad_request");
  auto wrong_method = http_get(node->port(), "/api/v1/views");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
}

TEST_F(TrendingTest, ASlowClientGetsOneQueuedListPerCategoryNotABacklog) {
  // A queue big enough that the articles below block the client without cutting it off.
  auto node = start_node({"--max-send-queue", "67108864"});
  publish_articles();
  WsClientOptions options;
  options.receive_buffer_bytes = 4096;
  auto slow = subscriber(node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}, {"trending", {"*"}}},
                         options);
  // The client stops reading: 8 MB of articles fill the socket buffers and then its queue.
  slow->stop_reading();
  std::string body(200 * 1024, 'x');
  for (int i = 0; i < 40; ++i) {
    auto article = make_article("big-" + std::to_string(i), "sports");
    article["body"] = body;
    publish(redis_, article);
  }
  ASSERT_TRUE(node->wait_metric_at_least("newspush_send_queue_peak_bytes", 1024 * 1024));

  // Lists keep changing while it does not read: each new one replaces the one queued.
  int round = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (node->metric("newspush_trending_conflated_total") < 6 &&
         std::chrono::steady_clock::now() < deadline) {
    double published = node->metric("newspush_trending_lists_published_total");
    // Alternately make one of the two sports articles lead by a clear margin.
    post_views(node->port(), {{round % 2 == 0 ? "spo-1" : "spo-2", 3 * (round + 1)}});
    ASSERT_TRUE(node->wait_metric_at_least("newspush_trending_lists_published_total", published + 1));
    ++round;
  }
  ASSERT_GE(node->metric("newspush_trending_conflated_total"), 6);
  double published = node->metric("newspush_trending_lists_published_total");

  // Reading again: every article, and per category only the lists that were not replaced.
  slow->resume_reading();
  std::size_t articles = 0, lists = 0;
  std::optional<json> last_sports;
  while (articles < 40) {
    auto event = slow->next_event(15s);
    ASSERT_TRUE(event) << "articles so far: " << articles;
    if ((*event)["type"] == "article") ++articles;
    if ((*event)["type"] == "trending") {
      ++lists;
      if ((*event)["category"] == "sports") last_sports = event;
    }
  }
  while (auto event = slow->next_event(500ms)) {
    if ((*event)["type"] != "trending") continue;
    ++lists;
    if ((*event)["category"] == "sports") last_sports = event;
  }
  EXPECT_FALSE(slow->closed());
  EXPECT_LE(lists + 6, published);
  ASSERT_TRUE(last_sports);
  EXPECT_EQ(*last_sports, get_trending(node->port(), "sports"));
}


TEST_F(TrendingTest, GarbageOnTheTrendingChannelNeverReachesClients) {
  auto node = start_node();
  publish_articles();
  // Received before the client subscribes: it must see lists only, never these articles.
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 3));
  auto client = subscriber(node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}, {"trending", {"*"}}});
  for (const char* garbage :
       {"garbage", "1\nsports\nnot json", "2\nsports\n{\"type\":\"article\",\"category\":\"sports\",\"items\":[]}",
        "3\nculture\n{\"type\":\"trending\",\"category\":\"sports\",\"items\":[]}",
        "x\n*\n{\"type\":\"trending\",\"category\":\"*\",\"items\":[]}"})
    redis_.command({"PUBLISH", "news:trending", garbage});
  // Lists still flow, and the only messages the client ever sees are the real lists (no list
  // existed before these views, so an empty or culture one could only be garbage let through).
  post_views(node->port(), {{"spo-1", 1}});
  std::set<std::string> seen;
  while (seen.size() < 2) {
    auto event = client->next_event(15s);
    ASSERT_TRUE(event) << node->output();
    ASSERT_EQ((*event)["type"], "trending") << *event;
    EXPECT_EQ(ids_in(*event), std::vector<std::string>{"spo-1"}) << *event;
    seen.insert((*event)["category"].get<std::string>());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"*", "sports"}));
  EXPECT_TRUE(node->wait_ready());
}


TEST_F(TrendingTest, ViewsWhileRedisIsAwayAreRefusedOrDroppedThenFlowAgain) {
  auto node = start_node();
  publish_articles();
  auto client = subscriber(node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}});
  redis_.kill();
  ASSERT_TRUE(node->wait_not_ready());
  post_views(node->port(), {{"spo-1", 1}}, 503);
  client->send_text(R"({"op":"view","article":"spo-1"})");
  ASSERT_TRUE(node->wait_metric_at_least("newspush_views_total{result=\"dropped\"}", 2));

  // Redis back, empty (no persistence): the articles are published again, views count again.
  redis_.restart();
  ASSERT_TRUE(node->wait_ready()) << node->output();
  publish_articles();
  ListWatcher lists(*client);
  EXPECT_EQ(post_views(node->port(), {{"spo-2", 2}}), json({{"counted", 2}, {"unknown", 0}}));
  ASSERT_TRUE(lists.wait_for("sports", {"spo-2"})) << node->output();
}

}  // namespace
}  // namespace newspush::test

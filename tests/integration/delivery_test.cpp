// Articles published on Redis reach the right WebSocket clients: filtering, "*", breaking,
// unsubscribe, order, fields intact. Real redis-server, real newspushd, real sockets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using ::testing::ElementsAreArray;
using nlohmann::json;

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<NewspushdProcess>(redis_.url(), std::vector<std::string>{"--threads", "2"});
    ASSERT_TRUE(server_->wait_ready()) << server_->output();
  }
  std::unique_ptr<WsClient> connect(const std::vector<std::string>& categories) {
    auto client = WsClient::connect(server_->port());
    auto welcome = client->next_event();
    EXPECT_TRUE(welcome && (*welcome)["type"] == "welcome") << (welcome ? welcome->dump() : "none");
    if (!categories.empty()) {
      auto reply = client->subscribe(categories);
      EXPECT_TRUE(reply && (*reply)["type"] == "subscribed") << (reply ? reply->dump() : "none");
    }
    return client;
  }
  void publish(const json& article) { redis_.publish("news:articles", article.dump()); }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> server_;
};

TEST_F(DeliveryTest, WelcomeDescribesTheProtocol) {
  auto client = WsClient::connect(server_->port());
  auto welcome = client->next_event();
  ASSERT_TRUE(welcome);
  EXPECT_EQ((*welcome)["type"], "welcome");
  EXPECT_EQ((*welcome)["protocol"], 1);
  EXPECT_EQ((*welcome)["max_categories"], 64);
}

TEST_F(DeliveryTest, SportsClientGetsSportsAndBreakingOnlyEachOnceInOrder) {
  auto sports = connect({"sports"});
  auto everything = connect({"*"});
  auto both = connect({"sports", "*"});  // still each article once
  std::vector<std::string> all_ids, sports_ids;
  for (int i = 0; i < 60; ++i) {
    std::string category = i % 3 == 0 ? "sports" : (i % 3 == 1 ? "culture" : "politique");
    bool breaking = i % 10 == 5;
    std::string id = "a" + std::to_string(i);
    publish(make_article(id, category, breaking));
    all_ids.push_back(id);
    if (category == "sports" || breaking) sports_ids.push_back(id);
  }
  EXPECT_THAT(ids_of(sports->collect_articles(sports_ids.size())), ElementsAreArray(sports_ids));
  EXPECT_THAT(ids_of(everything->collect_articles(all_ids.size())), ElementsAreArray(all_ids));
  EXPECT_THAT(ids_of(both->collect_articles(all_ids.size())), ElementsAreArray(all_ids));
  // Nothing more: no duplicate trailing behind.
  publish(make_article("marker", "sports"));
  for (auto* c : {sports.get(), everything.get(), both.get()}) {
    auto next = c->next_event_of_type("article");
    ASSERT_TRUE(next);
    EXPECT_EQ((*next)["article"]["id"], "marker");
  }
}

TEST_F(DeliveryTest, ArticleEventCarriesThePublishedObjectIntact) {
  auto client = connect({"societe"});
  json article = {
      {"id", "ré-42"},
      {"category", "societe"},
      {"title", "La rentrée scolaire « sous tension »\nsecond line"},
      {"summary", "Élèves, enseignants : ce qui change. 😀"},
      {"url", "https://example.org/societe/rentree"},
      {"published_at", "2026-09-01T06:00:00Z"},
      {"tags", {"éducation", "école"}},
      {"image", {{"src", "https://example.org/i.jpg"}, {"w", 1200}, {"h", 630}}},
      {"x_unknown_field", {{"nested", {1, 2.5, nullptr, false}}}},
  };
  publish(article);
  auto event = client->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["category"], "societe");
  EXPECT_EQ((*event)["breaking"], false);
  EXPECT_EQ((*event)["article"], article);
}

TEST_F(DeliveryTest, BreakingReachesConnectionsWithoutAnySubscription) {
  auto idle = connect({});
  auto culture = connect({"culture"});
  publish(make_article("n1", "sports"));
  publish(make_article("b1", "politique", true));
  for (auto* c : {idle.get(), culture.get()}) {
    auto event = c->next_event_of_type("article");
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["article"]["id"], "b1");
    EXPECT_EQ((*event)["breaking"], true);
  }
}

TEST_F(DeliveryTest, UnsubscribeStopsDeliveryAndRepliesWithTheRemainingSet) {
  auto client = connect({"sports", "culture"});
  client->send_text(R"({"op":"unsubscribe","categories":["sports"]})");
  auto reply = client->next_event_of_type("subscribed");
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["categories"], json::array({"culture"}));
  publish(make_article("s1", "sports"));
  publish(make_article("c1", "culture"));
  auto event = client->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["article"]["id"], "c1");
}

TEST_F(DeliveryTest, SubscribeIsIdempotentAndReportsTheWholeSet) {
  auto client = connect({"sports"});
  auto reply = client->subscribe({"sports", "culture"});
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["categories"], json::array({"culture", "sports"}));
  publish(make_article("s1", "sports"));
  publish(make_article("s2", "sports"));
  EXPECT_THAT(ids_of(client->collect_articles(2)), ElementsAreArray({"s1", "s2"}));
}

TEST_F(DeliveryTest, PingIsAnsweredWithPong) {
  auto client = connect({});
  client->send_text(R"({"op":"ping"})");
  auto pong = client->next_event();
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["type"], "pong");
}

TEST_F(DeliveryTest, FiveHundredArticlesToManyClientsArriveInPublishOrder) {
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(connect({"economie"}));
  std::vector<std::string> ids;
  for (int i = 0; i < 500; ++i) {
    ids.push_back("e" + std::to_string(i));
    publish(make_article(ids.back(), "economie"));
  }
  for (auto& client : clients)
    EXPECT_THAT(ids_of(client->collect_articles(ids.size(), 30s)), ElementsAreArray(ids));
  EXPECT_TRUE(server_->wait_metric_at_least("newspush_deliveries_total", 500 * 20));
}

TEST_F(DeliveryTest, MetricsAndStatsFollowTheTraffic) {
  auto a = connect({"sports", "culture"});
  auto b = connect({"sports"});
  // Categories get a series of their own once articles were published in them.
  publish(make_article("m0", "culture"));
  publish(make_article("m1", "sports"));
  ASSERT_EQ(a->collect_articles(2).size(), 2u);
  ASSERT_TRUE(b->next_event_of_type("article"));
  EXPECT_TRUE(server_->wait_metric_at_least("newspush_subscriptions{category=\"sports\"}", 2));
  EXPECT_EQ(server_->metric("newspush_subscriptions{category=\"culture\"}"), 1);
  EXPECT_TRUE(server_->wait_metric_at_least("newspush_deliveries_total", 2));
  EXPECT_TRUE(server_->wait_metric_at_least("newspush_fanout_latency_seconds_count", 1));
  EXPECT_GE(server_->metric("newspush_bytes_written_total"), 1);
  auto stats = http_get(server_->port(), "/api/v1/stats");
  ASSERT_TRUE(stats);
  ASSERT_EQ(stats->status, 200);
  auto body = json::parse(stats->body);
  EXPECT_EQ(body["connections"]["current"], 2);
  EXPECT_EQ(body["subscriptions"]["sports"], 2);
  EXPECT_GE(body["deliveries"].get<int>(), 2);
  EXPECT_EQ(body["redis"]["up"], true);
  b->close();
  EXPECT_TRUE(server_->wait_metric_at_least("newspush_connections_closed_total{reason=\"client\"}", 1));
  auto after = server_->metric_if_present("newspush_subscriptions{category=\"sports\"}");
  for (int i = 0; i < 100 && after && *after != 1; ++i)
    after = server_->metric_if_present("newspush_subscriptions{category=\"sports\"}");
  EXPECT_EQ(after.value_or(-1), 1);
}

}  // namespace

TEST(ReusePort, TwoProcessesShareOnePortAndBothServeClients) {
  RedisServer redis;  // theirs alone: one of the two must hold the trending lease
  // Each asked on its own admin port: a probe of the shared port reaches either process, so it
  // could find one ready while the other is still subscribing.
  NewspushdProcess first(redis.url(), {"--reuse-port", "true", "--admin-listen", "127.0.0.1:0"});
  std::string listen = "127.0.0.1:" + std::to_string(first.port());
  NewspushdProcess second(redis.url(), {"--listen", listen, "--reuse-port", "true",
                                        "--admin-listen", "127.0.0.1:0"});
  ASSERT_EQ(second.port(), first.port());
  ASSERT_TRUE(first.wait_ready()) << first.output();
  ASSERT_TRUE(second.wait_ready()) << second.output();
  // The kernel spreads connections by address hash: with 32, both get some (all on one: 2^-31).
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 32; ++i) {
    clients.push_back(WsClient::connect(first.port()));
    ASSERT_TRUE(clients.back()->subscribe({"sports"}));
  }
  // A connection is counted before its `subscribed` reply: both counts are final already.
  const double on_first = first.metric("newspush_connections");
  const double on_second = second.metric("newspush_connections");
  EXPECT_GT(on_first, 0);
  EXPECT_GT(on_second, 0);
  EXPECT_EQ(on_first + on_second, 32);
  redis.command({"PUBLISH", "news:articles", make_article("shared-port", "sports").dump()});
  for (auto& client : clients) {
    auto event = client->next_event_of_type("article");
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["article"]["id"], "shared-port");
  }
}

}  // namespace newspush::test

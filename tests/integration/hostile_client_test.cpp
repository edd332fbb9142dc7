// What one anonymous client can make the public port do, and what it gets back: bodies refused
// before they are read (yet answered), slow headers cut, handshakes from foreign origins refused.
// Real newspushd and redis-server processes, raw sockets.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/raw_tcp.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

const std::string kKey = "hostile-test-key-0123456789";

std::string request_head(const std::string& method, const std::string& target,
                         std::size_t content_length, const std::string& extra_headers = {}) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
         "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

std::string upgrade_request(const std::string& origin_header) {
  return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         origin_header + "\r\n";
}

class HostileClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NewspushdProcess>(
        redis_.url(), std::vector<std::string>{"--publish-key", kKey, "--allowed-origin",
                                               "https://*.example.org", "--allowed-origin",
                                               "http://127.0.0.1:8080"});
    ASSERT_TRUE(node_->wait_ready()) << node_->output();
  }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> node_;
};

// A client that writes its whole request before reading (as fetch does) must read the 413, not
// a reset: the server swallows the rest of the body for a while after answering.
TEST_F(HostileClientTest, AnOversizedBodyIsAnsweredNotReset) {
  const std::string body(8 * 1024 * 1024, 'x');
  for (int attempt = 0; attempt < 5; ++attempt) {
    RawTcp client(node_->port());
    ASSERT_TRUE(client.send(request_head("POST", "/api/v1/articles", body.size(),
                                         "Authorization: Bearer " + kKey + "\r\n") +
                                body,
                            30s))
        << "attempt " << attempt << ": the connection was reset while the client was sending";
    EXPECT_EQ(client.read_status(), 413) << "attempt " << attempt << ": " << client.received();
    EXPECT_TRUE(client.wait_closed(20s));
  }
}

TEST_F(HostileClientTest, AWriteWithoutKeyIsRefusedBeforeItsBodyIsSent) {
  RawTcp client(node_->port());
  ASSERT_TRUE(client.send(request_head("POST", "/api/v1/articles", 100000)));
  // Nothing of the body was sent: the answer cannot have waited for it.
  EXPECT_EQ(client.read_status(5s), 401) << client.received();
  EXPECT_TRUE(client.wait_closed(20s));
}

TEST_F(HostileClientTest, ABodyOnARouteThatTakesNoneIsNeverWaitedFor) {
  for (std::string target : {"/healthz", "/metrics", "/api/v1/trending"}) {
    RawTcp client(node_->port());
    ASSERT_TRUE(client.send(request_head("GET", target, 1024 * 1024)));
    EXPECT_EQ(client.read_status(5s), 200) << target << ": " << client.received();
    EXPECT_TRUE(client.wait_closed(20s)) << target;
  }
  RawTcp huge(node_->port());
  ASSERT_TRUE(huge.send(request_head("POST", "/api/v1/articles", std::size_t{1} << 40,
                                     "Authorization: Bearer " + kKey + "\r\n")));
  EXPECT_EQ(huge.read_status(5s), 413) << huge.received();
}

TEST_F(HostileClientTest, AnOversizedHeaderGets431) {
  RawTcp client(node_->port());
  std::string padding = "X-Padding: " + std::string(16 * 1024, 'p') + "\r\n";
  client.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding + "\r\n");
  EXPECT_EQ(client.read_status(), 431) << client.received();
}

TEST_F(HostileClientTest, AHeaderThatNeverEndsIsCutOff) {
  RawTcp client(node_->port());
  ASSERT_TRUE(client.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  // The head timeout is 10 s; a 30 s hold (the body timeout) would miss this bound.
  EXPECT_TRUE(client.wait_closed(25s)) << "a slowloris header was held open";
}

TEST_F(HostileClientTest, HandshakesFromOtherOriginsAreRefusedWith403) {
  struct Case {
    std::string origin_header;
    int status;
  };
  const std::vector<Case> cases = {
      {"Origin: https://news.example.org\r\n", 101},
      {"Origin: https://a.b.example.org\r\n", 101},
      {"Origin: HTTP://127.0.0.1:8080\r\n", 101},
      {"", 101},  // not a browser
      {"Origin: https://example.org\r\n", 403},
      {"Origin: http://news.example.org\r\n", 403},
      {"Origin: https://evil.org\r\n", 403},
      {"Origin: https://example.org.evil.org\r\n", 403},
      {"Origin: http://127.0.0.1:8081\r\n", 403},
      {"Origin: null\r\n", 403},
  };
  int refused = 0;
  for (const auto& c : cases) {
    RawTcp client(node_->port());
    ASSERT_TRUE(client.send(upgrade_request(c.origin_header)));
    EXPECT_EQ(client.read_status(), c.status) << c.origin_header << client.received();
    if (c.status == 403) ++refused;
  }
  EXPECT_EQ(node_->metric("newspush_connections_refused_total{reason=\"origin\"}"), refused);
}

// Upgrades from 127.0.0.1, each on its own raw connection, kept open; the status of each.
std::vector<int> upgrade_many(std::uint16_t port, int count,
                              std::vector<std::unique_ptr<RawTcp>>& held) {
  std::vector<int> statuses;
  for (int i = 0; i < count; ++i) {
    held.push_back(std::make_unique<RawTcp>(port));
    held.back()->send(upgrade_request(""));
    statuses.push_back(held.back()->read_status().value_or(0));
  }
  return statuses;
}

TEST(ConnectionCaps, PerAddressCapAnswers429AndFreesTheSlotWhenAConnectionEnds) {
  RedisServer redis;
  NewspushdProcess node(redis.url(), {"--max-connections-per-ip", "3"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  std::vector<std::unique_ptr<RawTcp>> held;
  EXPECT_EQ(upgrade_many(node.port(), 5, held), (std::vector<int>{101, 101, 101, 429, 429}));
  EXPECT_EQ(node.metric("newspush_connections_refused_total{reason=\"per_ip\"}"), 2);
  held.erase(held.begin());  // one of the three accepted ones goes away
  ASSERT_TRUE(node.wait_metric_at_least("newspush_connections_closed_total{reason=\"client\"}", 1))
      << node.metrics_text();
  std::vector<std::unique_ptr<RawTcp>> more;
  EXPECT_EQ(upgrade_many(node.port(), 2, more), (std::vector<int>{101, 429}));
}

TEST(ConnectionCaps, AFullProcessAnswers503AtOnceWithoutReadingARequest) {
  RedisServer redis;
  NewspushdProcess node(redis.url(), {"--max-connections", "3"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  std::vector<std::unique_ptr<RawTcp>> held;
  EXPECT_EQ(upgrade_many(node.port(), 3, held), (std::vector<int>{101, 101, 101}));
  RawTcp refused(node.port());  // sends nothing at all
  EXPECT_EQ(refused.read_status(), 503) << refused.received();
  EXPECT_NE(refused.received().find("server_full"), std::string::npos);
  EXPECT_TRUE(refused.wait_closed());
  // A full public port refuses /metrics too (operators scrape --admin-listen): make room first.
  held.clear();
  EXPECT_TRUE(node.wait_metric_at_least("newspush_connections_refused_total{reason=\"total\"}", 1));
}

TEST(ConnectionCaps, ConnectRateAllowsABurstThenAboutTheRate) {
  RedisServer redis;
  NewspushdProcess node(redis.url(), {"--connect-rate-per-ip", "1"});  // a burst of 2
  ASSERT_TRUE(node.wait_ready()) << node.output();
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<RawTcp>> held;
  auto statuses = upgrade_many(node.port(), 12, held);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto accepted = std::count(statuses.begin(), statuses.end(), 101);
  auto refused = std::count(statuses.begin(), statuses.end(), 429);
  EXPECT_EQ(accepted + refused, 12);
  EXPECT_GE(accepted, 2);
  // The burst, plus one per second that passed (and one for a refill landing mid-way).
  EXPECT_LE(accepted, 2 + static_cast<long>(elapsed) + 1) << elapsed << " s";
  if (elapsed < 5) {
    EXPECT_GE(refused, 1);
  }
  EXPECT_EQ(node.metric("newspush_connections_refused_total{reason=\"connect_rate\"}"), refused);
}

TEST(ConnectionCaps, ACommandFloodIsAnsweredRateLimitedThenClosedWith1008) {
  RedisServer redis;
  NewspushdProcess node(redis.url(), {"--command-rate", "1"});  // a burst of 2
  ASSERT_TRUE(node.wait_ready()) << node.output();
  WsClientOptions options;
  options.port = node.port();
  auto client = WsClient::connect(options);
  ASSERT_TRUE(client->next_event_of_type("welcome"));
  bool sent_all = true;
  for (int i = 0; i < 200 && sent_all; ++i) sent_all = client->try_send_text(R"({"op":"ping"})");
  auto error = client->next_event_of_type("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "rate_limited");
  ASSERT_TRUE(client->wait_closed(15s));
  EXPECT_EQ(client->close_code(), 1008);
}

TEST(ConnectionCaps, MaxSubscriptionsBoundsOneConnection) {
  RedisServer redis;
  NewspushdProcess node(redis.url(), {"--max-subscriptions", "2"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  WsClientOptions options;
  options.port = node.port();
  auto client = WsClient::connect(options);
  auto reply = client->subscribe({"sports", "culture", "sante"});
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["type"], "error");
  EXPECT_EQ((*reply)["code"], "too_many_categories");
}

TEST(ConnectionCaps, BehindATrustedProxyTheForwardedAddressIsCounted) {
  RedisServer redis;
  NewspushdProcess node(redis.url(), {"--max-connections-per-ip", "1", "--trusted-proxy", "127.0.0.1"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  auto from = [&](const std::string& forwarded) {
    auto client = std::make_unique<RawTcp>(node.port());
    std::string request = upgrade_request("X-Forwarded-For: " + forwarded + "\r\n");
    client->send(request);
    return std::pair{client->read_status().value_or(0), std::move(client)};
  };
  auto [a, held_a] = from("198.51.100.7");
  auto [b, held_b] = from("203.0.113.9");
  auto [c, held_c] = from("203.0.113.9, 198.51.100.8");  // what the proxy added is the last entry
  auto [d, held_d] = from("198.51.100.7");
  EXPECT_EQ(a, 101);
  EXPECT_EQ(b, 101);
  EXPECT_EQ(c, 101);
  EXPECT_EQ(d, 429);
}

TEST(AdminPort, WithAnAdminPortThePublicOneHasNoWriteDoorNorOperatorEndpoints) {
  RedisServer redis;
  NewspushdProcess node(redis.url(), {"--publish-key", kKey, "--admin-listen", "127.0.0.1:0"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  ASSERT_TRUE(node.process().wait_for_line("listening.admin address=127.0.0.1:", 10s))
      << node.output();
  const std::string output = node.output();
  const std::string marker = "listening.admin address=127.0.0.1:";
  const auto admin = static_cast<std::uint16_t>(
      std::stoi(output.substr(output.find(marker) + marker.size())));
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + kKey}};
  const std::string article = make_article("adm1", "sports").dump();

  auto status = [](std::optional<HttpResponse> response) { return response ? response->status : 0; };
  // The public port: readers' things only.
  EXPECT_EQ(status(http_request(node.port(), "POST", "/api/v1/articles", article, auth)), 404);
  EXPECT_EQ(status(http_request(node.port(), "DELETE", "/api/v1/articles/adm1", {}, auth)), 404);
  EXPECT_EQ(status(http_request(node.port(), "POST", "/api/v1/views", R"([{"article":"adm1"}])", auth)), 404);
  EXPECT_EQ(status(http_get(node.port(), "/metrics")), 404);
  EXPECT_EQ(status(http_get(node.port(), "/api/v1/stats")), 404);
  EXPECT_EQ(status(http_get(node.port(), "/api/v1/articles")), 200);
  EXPECT_EQ(status(http_get(node.port(), "/api/v1/trending")), 200);
  EXPECT_EQ(status(http_get(node.port(), "/readyz")), 200);
  WsClientOptions options;
  options.port = node.port();
  auto reader = WsClient::connect(options);
  ASSERT_TRUE(reader->subscribe({"sports"}));

  // The admin port: the operators' things only.
  EXPECT_EQ(status(http_request(admin, "POST", "/api/v1/articles", article, auth)), 201);
  auto delivered = reader->next_event_of_type("article");
  ASSERT_TRUE(delivered);
  EXPECT_EQ((*delivered)["article"]["id"], "adm1");
  EXPECT_EQ(status(http_get(admin, "/metrics")), 200);
  EXPECT_EQ(status(http_get(admin, "/api/v1/stats")), 200);
  EXPECT_EQ(status(http_get(admin, "/healthz")), 200);
  EXPECT_EQ(status(http_get(admin, "/api/v1/articles")), 404);
  RawTcp upgrade(admin);
  upgrade.send(upgrade_request(""));
  EXPECT_EQ(upgrade.read_status(), 404) << upgrade.received();
}

}  // namespace
}  // namespace newspush::test

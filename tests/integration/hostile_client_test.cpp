// What one anonymous client can make the public port do, and what it gets back: bodies refused
// before they are read (yet answered), slow headers cut, handshakes from foreign origins refused.
// Real newspushd and redis-server processes, raw sockets.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/articles.hpp"
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

}  // namespace
}  // namespace newspush::test

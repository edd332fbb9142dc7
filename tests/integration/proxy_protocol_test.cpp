// newspushd behind a balancer speaking the PROXY protocol (--proxy-protocol): the client address
// the per-address limits count is the header's source, a trusted peer without a good header is
// closed and counted, and other peers connect directly. The test plays the balancer from
// 127.0.0.1 (the trusted proxy) with raw sockets; /readyz and /metrics go to the admin port.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/raw_tcp.hpp"
#include "tests/support/redis_server.hpp"

namespace newspush::test {
namespace {

const std::string kUpgrade =
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const std::string kRefused = "newspush_connections_refused_total{reason=\"bad_proxy_header\"}";

// PROXY v2, command PROXY over TCP/IPv4, from `source`:40000 to 10.0.0.11:8080, with an
// AUTHORITY TLV (as HAProxy may add) that the server must skip.
std::string v2_header(const std::string& source) {
  std::string header("\r\n\r\n\0\r\nQUIT\n", 12);
  const std::string tlv = std::string("\x02\x00\x04", 3) + "news";
  const std::size_t length = 12 + tlv.size();
  header += "\x21\x11";
  header += static_cast<char>(length >> 8);
  header += static_cast<char>(length & 0xff);
  in_addr address{};
  inet_pton(AF_INET, source.c_str(), &address);
  header.append(reinterpret_cast<const char*>(&address), 4);  // network order already
  header += std::string("\x0a\x00\x00\x0b", 4) + std::string("\x9c\x40\x1f\x90", 4);
  return header + tlv;
}

// LOCAL: the balancer's own connection (its health checks).
const std::string kV2Local =
    std::string("\r\n\r\n\0\r\nQUIT\n", 12) + std::string("\x20\x00\x00\x00", 4);

class ProxyProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NewspushdProcess>(
        redis_.url(),
        std::vector<std::string>{"--proxy-protocol", "--trusted-proxy", "127.0.0.1",
                                 "--max-connections-per-ip", "2", "--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(node_->wait_ready()) << node_->output();
  }

  // A connection from the balancer: the header and the request in one write, as HAProxy sends
  // them when the client spoke first. The status of the answer; the connection is kept.
  int upgrade_through(const std::string& header, const std::string& source = {}) {
    held_.push_back(std::make_unique<RawTcp>(node_->port(), source));
    held_.back()->send(header + kUpgrade);
    return held_.back()->read_status().value_or(0);
  }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> node_;
  std::vector<std::unique_ptr<RawTcp>> held_;
};

TEST_F(ProxyProtocolTest, EachProxiedSourceIsAClientOfItsOwn) {
  EXPECT_EQ(upgrade_through(v2_header("203.0.113.7")), 101);
  // The upgrade works: the server's first message arrives.
  EXPECT_TRUE(held_.back()->read_until("\"welcome\"")) << held_.back()->received();
  EXPECT_EQ(upgrade_through(v2_header("203.0.113.7")), 101);
  EXPECT_EQ(upgrade_through(v2_header("203.0.113.7")), 429) << held_.back()->received();
  EXPECT_EQ(upgrade_through(v2_header("198.51.100.9")), 101);
  EXPECT_TRUE(held_.back()->read_until("\"welcome\"")) << held_.back()->received();
  EXPECT_EQ(node_->metric("newspush_connections_refused_total{reason=\"per_ip\"}"), 1);
  EXPECT_EQ(node_->metric(kRefused), 0);
}

TEST_F(ProxyProtocolTest, V1LinesWorkToo) {
  const std::string line = "PROXY TCP4 192.0.2.1 10.0.0.11 40000 8080\r\n";
  EXPECT_EQ(upgrade_through(line), 101);
  EXPECT_EQ(upgrade_through(line), 101);
  EXPECT_EQ(upgrade_through(line), 429);
  EXPECT_EQ(upgrade_through("PROXY TCP6 2001:db8::7 2001:db8::1 40000 8080\r\n"), 101);
  EXPECT_TRUE(held_.back()->read_until("\"welcome\"")) << held_.back()->received();
}

TEST_F(ProxyProtocolTest, AHeaderSplitAcrossWritesIsReassembled) {
  const std::string header = v2_header("203.0.113.20");
  RawTcp client(node_->port());
  ASSERT_TRUE(client.send(header.substr(0, 5)));
  ASSERT_TRUE(client.send(header.substr(5, 10)));
  ASSERT_TRUE(client.send(header.substr(15) + kUpgrade));
  EXPECT_EQ(client.read_status(), 101) << client.received();
}

TEST_F(ProxyProtocolTest, LocalMeansTheBalancerItself) {
  RawTcp check(node_->port());
  ASSERT_TRUE(check.send(kV2Local + "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(check.read_status(), 200) << check.received();
  // LOCAL upgrades count against the balancer's own address, 127.0.0.1.
  EXPECT_EQ(upgrade_through(kV2Local), 101);
  EXPECT_EQ(upgrade_through(kV2Local), 101);
  EXPECT_EQ(upgrade_through(kV2Local), 429);
  EXPECT_EQ(upgrade_through(v2_header("127.0.0.1")), 429);
}

TEST_F(ProxyProtocolTest, WithAHeaderXForwardedForIsNotBelieved) {
  EXPECT_EQ(upgrade_through(v2_header("203.0.113.7")), 101);
  EXPECT_EQ(upgrade_through(v2_header("203.0.113.7")), 101);
  // Behind a TCP-mode balancer the client writes X-Forwarded-For itself: it names no one.
  RawTcp client(node_->port());
  client.send(v2_header("203.0.113.7") + kUpgrade.substr(0, kUpgrade.size() - 2) +
              "X-Forwarded-For: 198.51.100.1\r\n\r\n");
  EXPECT_EQ(client.read_status(), 429) << client.received();
}

TEST_F(ProxyProtocolTest, ATrustedPeerWithoutAHeaderIsClosedAndCounted) {
  RawTcp plain(node_->port());  // an HTTP request where the header should be
  ASSERT_TRUE(plain.send(kUpgrade));
  EXPECT_TRUE(plain.wait_closed());
  EXPECT_EQ(plain.received(), "") << "no answer is owed to a balancer speaking out of turn";
  RawTcp bad_version(node_->port());
  std::string header = v2_header("203.0.113.7");
  header[12] = '\x31';
  ASSERT_TRUE(bad_version.send(header + kUpgrade));
  EXPECT_TRUE(bad_version.wait_closed());
  RawTcp too_long(node_->port());
  ASSERT_TRUE(too_long.send("PROXY UNKNOWN " + std::string(200, 'x')));
  EXPECT_TRUE(too_long.wait_closed());
  EXPECT_TRUE(node_->wait_metric_at_least(kRefused, 3)) << node_->metrics_text();
  EXPECT_NE(node_->output().find("proxy_header.refused peer=127.0.0.1"),
            std::string::npos);
}

TEST_F(ProxyProtocolTest, AnUnfinishedHeaderIsCutAtTheHeadTimeout) {
  RawTcp client(node_->port());
  ASSERT_TRUE(client.send(v2_header("203.0.113.7").substr(0, 14)));
  // The head timeout is 10 s; the bound leaves room for a loaded machine.
  EXPECT_TRUE(client.wait_closed(25s)) << "a trickled PROXY header was held open";
  EXPECT_TRUE(node_->wait_metric_at_least(kRefused, 1)) << node_->metrics_text();
}

TEST_F(ProxyProtocolTest, OtherPeersConnectDirectlyAndTheirHeadersAreNotRead) {
  // 127.0.0.2 is not the trusted proxy: a direct client, counted by its own address.
  EXPECT_EQ(upgrade_through("", "127.0.0.2"), 101);
  EXPECT_TRUE(held_.back()->read_until("\"welcome\"")) << held_.back()->received();
  EXPECT_EQ(upgrade_through("", "127.0.0.2"), 101);
  EXPECT_EQ(upgrade_through("", "127.0.0.2"), 429);
  // Its PROXY header is not a header but a malformed request: it cannot pick an address.
  RawTcp forged(node_->port(), "127.0.0.2");
  ASSERT_TRUE(forged.send(v2_header("198.51.100.200") + kUpgrade));
  EXPECT_TRUE(forged.wait_closed());
  EXPECT_EQ(forged.received().find("101"), std::string::npos) << forged.received();
  EXPECT_EQ(node_->metric(kRefused), 0);
}

// What deploy/haproxy.cfg sets up, with a real HAProxy when one is installed: readers reach the
// node through it, from two loopback addresses, and are counted by their own.
TEST(ProxyProtocolBehindHaproxy, ReadersAreCountedByTheirOwnAddress) {
  ASSERT_EQ(std::system("command -v haproxy >/dev/null 2>&1"), 0)
      << "haproxy is not installed: scripts/deps.sh installs it";
  RedisServer redis;
  NewspushdProcess node(
      redis.url(), {"--proxy-protocol", "--trusted-proxy", "127.0.0.1", "--max-connections-per-ip",
                    "2", "--admin-listen", "127.0.0.1:0"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  const std::uint16_t port = RedisServer::pick_free_port();
  const auto config =
      std::filesystem::temp_directory_path() /
      ("newspush-haproxy-" + std::to_string(::getpid()) + "-" + std::to_string(port) + ".cfg");
  std::ofstream(config) << "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n"
                           "  timeout server 30s\n  timeout tunnel 1h\n"
                           "frontend news\n  bind 127.0.0.1:"
                        << port
                        << "\n  default_backend nodes\n"
                           "backend nodes\n  server node1 127.0.0.1:"
                        << node.port() << " send-proxy-v2\n";
  struct Remove {
    std::filesystem::path path;
    ~Remove() { std::filesystem::remove(path); }
  } remove_config{config};
  ChildProcess haproxy({"haproxy", "-db", "-f", config.string()});
  // Up once it accepts: bounded, as NewspushdProcess::wait_ready.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    try {
      RawTcp probe(port);
      break;
    } catch (const std::runtime_error&) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << haproxy.output();
      std::this_thread::sleep_for(50ms);
    }
  }
  std::vector<std::unique_ptr<RawTcp>> held;
  auto upgrade_from = [&](const std::string& source) {
    held.push_back(std::make_unique<RawTcp>(port, source));
    held.back()->send(kUpgrade);
    return held.back()->read_status().value_or(0);
  };
  EXPECT_EQ(upgrade_from("127.0.0.2"), 101) << haproxy.output();
  EXPECT_TRUE(held.back()->read_until("\"welcome\"")) << held.back()->received();
  EXPECT_EQ(upgrade_from("127.0.0.2"), 101);
  EXPECT_EQ(upgrade_from("127.0.0.2"), 429);
  EXPECT_EQ(upgrade_from("127.0.0.3"), 101);
  EXPECT_EQ(node.metric(kRefused), 0);
}

}  // namespace
}  // namespace newspush::test

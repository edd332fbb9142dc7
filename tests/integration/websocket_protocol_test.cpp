// newspushd's own WebSocket framing (websocket/server_codec.hpp behind Beast's upgrade), driven
// frame by frame over a bare socket: pings answered between a command's fragments, every
// protocol error closed with its code on the wire, the close handshake echoing the peer's code,
// and each ending counted under its cause. Real newspushd and redis-server processes.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/newspushd_process.hpp"
#include "tests/support/raw_tcp.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/websocket/codec_driver.hpp"

namespace newspush::test {
namespace {

namespace ws = newspush::websocket::test;

constexpr std::size_t kMaxFrame = 1024;

struct ServerFrame {
  std::uint8_t first_byte = 0;  // FIN, RSV and opcode
  std::string payload;
  std::uint8_t opcode() const { return first_byte & 0x0F; }
  std::uint16_t close_code() const {
    return payload.size() < 2 ? 0
                              : static_cast<std::uint16_t>(
                                    static_cast<unsigned char>(payload[0]) << 8 |
                                    static_cast<unsigned char>(payload[1]));
  }
};

// Server frames are never masked: the parse of whole frames from `bytes` (what follows the
// 101's head); an incomplete last frame is left out.
std::vector<ServerFrame> parse_frames(std::string_view bytes, bool* masked = nullptr) {
  std::vector<ServerFrame> frames;
  std::size_t at = 0;
  while (bytes.size() - at >= 2) {
    const auto b0 = static_cast<unsigned char>(bytes[at]);
    const auto b1 = static_cast<unsigned char>(bytes[at + 1]);
    if (masked && (b1 & 0x80)) *masked = true;
    std::size_t header = 2;
    std::uint64_t size = b1 & 0x7F;
    if (size == 126 || size == 127) {
      const std::size_t length_bytes = size == 126 ? 2 : 8;
      if (bytes.size() - at < 2 + length_bytes) break;
      size = 0;
      for (std::size_t i = 0; i < length_bytes; ++i)
        size = size << 8 | static_cast<unsigned char>(bytes[at + 2 + i]);
      header += length_bytes;
    }
    if (bytes.size() - at < header + size) break;
    frames.push_back({static_cast<std::uint8_t>(b0), std::string(bytes.substr(at + header, size))});
    at += header + size;
  }
  return frames;
}

class WebSocketProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NewspushdProcess>(
        redis_.url(), std::vector<std::string>{"--max-frame", std::to_string(kMaxFrame),
                                               "--idle-timeout", std::to_string(idle_timeout_)});
    ASSERT_TRUE(node_->wait_ready()) << node_->output();
  }

  int idle_timeout_ = 60;

  // Upgrades `tcp` and waits for the welcome, the first frame.
  void upgrade(RawTcp& tcp) {
    ASSERT_TRUE(
        tcp.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\nX-Request-Id: conformance-1\r\n\r\n"));
    ASSERT_EQ(tcp.read_status(), 101) << tcp.received();
    const std::string& head = tcp.received();
    // Beast still answers the upgrade, with what the server adds to it.
    EXPECT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos)
        << head;
    EXPECT_NE(head.find("X-Request-Id: conformance-1"), std::string::npos) << head;
    EXPECT_NE(head.find("Server: newspushd/"), std::string::npos) << head;
    auto frames = frames_after(tcp, 1);
    ASSERT_GE(frames.size(), 1u);
    EXPECT_EQ(frames[0].first_byte, 0x81);
    EXPECT_NE(frames[0].payload.find(R"("type":"welcome")"), std::string::npos)
        << frames[0].payload;
  }

  // Reads until `count` whole frames have come after the 101 (or the connection ends).
  std::vector<ServerFrame> frames_after(RawTcp& tcp, std::size_t count,
                                        std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      bool masked = false;
      auto frames = parse_frames(body(tcp), &masked);
      EXPECT_FALSE(masked) << "a server frame must never be masked";
      if (frames.size() >= count) return frames;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || tcp.read_more(left) <= 0) return frames;
    }
  }

  static std::string body(const RawTcp& tcp) {
    const auto end = tcp.received().find("\r\n\r\n");
    return end == std::string::npos ? std::string() : tcp.received().substr(end + 4);
  }

  double closed(const std::string& reason) {
    return node_->metric("newspush_connections_closed_total{reason=\"" + reason + "\"}");
  }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> node_;
};

TEST_F(WebSocketProtocolTest, APingIsAnsweredWithItsPayload) {
  RawTcp tcp(node_->port());
  upgrade(tcp);
  ASSERT_TRUE(tcp.send(ws::ping("are you there")));
  auto frames = frames_after(tcp, 2);
  ASSERT_EQ(frames.size(), 2u) << body(tcp);
  EXPECT_EQ(frames[1].first_byte, 0x8A);
  EXPECT_EQ(frames[1].payload, "are you there");
}

TEST_F(WebSocketProtocolTest, AFragmentedCommandWithAPingBetweenItsFragmentsIsOneCommand) {
  RawTcp tcp(node_->port());
  upgrade(tcp);
  // Sent byte by byte: the reader must not depend on how the bytes are split.
  const std::string bytes = ws::concat({ws::text(R"({"op":)", false), ws::ping("mid"),
                                        ws::continuation(R"("pi)", false),
                                        ws::continuation(R"(ng"})")});
  for (char byte : bytes) ASSERT_TRUE(tcp.send(std::string(1, byte)));
  auto frames = frames_after(tcp, 3);
  ASSERT_EQ(frames.size(), 3u) << body(tcp);
  EXPECT_EQ(frames[1].first_byte, 0x8A);
  EXPECT_EQ(frames[1].payload, "mid");
  EXPECT_EQ(frames[2].first_byte, 0x81);
  EXPECT_EQ(frames[2].payload, R"({"type":"pong"})");
}

TEST_F(WebSocketProtocolTest, ProtocolErrorsAreClosedWithTheirCode) {
  struct Case {
    const char* what;
    std::string bytes;
    std::uint16_t code;
  };
  const std::vector<Case> cases = {
      {"unmasked", ws::frame({.opcode = 0x1, .masked = false}, R"({"op":"ping"})"), 1002},
      {"rsv1 without an extension", ws::frame({.opcode = 0x1, .rsv = 4}, "x"), 1002},
      {"reserved opcode", ws::frame({.opcode = 0xB}, ""), 1002},
      {"fragmented ping", ws::frame({.opcode = 0x9, .final = false}, ""), 1002},
      {"orphan continuation", ws::continuation("x"), 1002},
      {"close code 1005 on the wire", ws::close(1005), 1002},
      {"invalid UTF-8", ws::text("\xce\xba\xed\xa0\x80"), 1007},
      {"invalid UTF-8 across fragments", ws::concat({ws::text("\xce", false), ws::continuation("x")}),
       1007},
      {"too big", ws::text(std::string(kMaxFrame + 1, 'x')), 1009},
      {"too big over fragments",
       ws::concat({ws::text(std::string(kMaxFrame / 2 + 1, 'x'), false),
                   ws::continuation(std::string(kMaxFrame / 2, 'x'))}),
       1009},
  };
  const double before = closed("protocol_error");
  for (const Case& c : cases) {
    RawTcp tcp(node_->port());
    upgrade(tcp);
    ASSERT_TRUE(tcp.send(c.bytes)) << c.what;
    auto frames = frames_after(tcp, 2);
    ASSERT_EQ(frames.size(), 2u) << c.what << ": " << body(tcp);
    EXPECT_EQ(frames[1].first_byte, 0x88) << c.what;
    EXPECT_EQ(frames[1].close_code(), c.code) << c.what;
    EXPECT_TRUE(tcp.wait_closed(20s)) << c.what;
  }
  EXPECT_TRUE(node_->wait_metric_at_least("newspush_connections_closed_total{reason=\"protocol_error\"}",
                                          before + static_cast<double>(cases.size())));
}

TEST_F(WebSocketProtocolTest, ABinaryMessageIsClosedWith1003) {
  RawTcp tcp(node_->port());
  upgrade(tcp);
  ASSERT_TRUE(tcp.send(ws::binary("\x01\x02")));
  auto frames = frames_after(tcp, 2);
  ASSERT_EQ(frames.size(), 2u) << body(tcp);
  EXPECT_EQ(frames[1].first_byte, 0x88);
  EXPECT_EQ(frames[1].close_code(), 1003);
  // The server started this close: it waits for ours, then ends the connection.
  ASSERT_TRUE(tcp.send(ws::close(1003)));
  EXPECT_TRUE(tcp.wait_closed(20s));
}

TEST_F(WebSocketProtocolTest, TheCloseHandshakeEchoesThePeersCode) {
  const double before = closed("client");
  {
    RawTcp tcp(node_->port());
    upgrade(tcp);
    ASSERT_TRUE(tcp.send(ws::close(4001, "leaving")));
    auto frames = frames_after(tcp, 2);
    ASSERT_EQ(frames.size(), 2u) << body(tcp);
    EXPECT_EQ(frames[1].first_byte, 0x88);
    EXPECT_EQ(frames[1].payload, std::string("\x0f\xa1", 2));  // 4001, no reason
    EXPECT_TRUE(tcp.wait_closed(20s));
  }
  {
    // A close without a code is answered with 1000.
    RawTcp tcp(node_->port());
    upgrade(tcp);
    ASSERT_TRUE(tcp.send(ws::close_empty()));
    auto frames = frames_after(tcp, 2);
    ASSERT_EQ(frames.size(), 2u) << body(tcp);
    EXPECT_EQ(frames[1].close_code(), 1000);
    EXPECT_TRUE(tcp.wait_closed(20s));
  }
  EXPECT_TRUE(
      node_->wait_metric_at_least("newspush_connections_closed_total{reason=\"client\"}", before + 2));
}

TEST_F(WebSocketProtocolTest, AServerCloseWaitsForThePeersAndSendsNoSecondClose) {
  RawTcp tcp(node_->port());
  upgrade(tcp);
  // Eleven bad commands: the error budget (10) runs out and the server closes with 1008.
  std::string bad;
  for (int i = 0; i < 11; ++i) bad += ws::text(R"({"op":"nonsense"})");
  ASSERT_TRUE(tcp.send(bad));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::vector<ServerFrame> frames;
  while (std::chrono::steady_clock::now() < deadline) {
    frames = frames_after(tcp, frames.size() + 1, 2s);
    if (!frames.empty() && frames.back().opcode() == 0x8) break;
  }
  ASSERT_FALSE(frames.empty());
  ASSERT_EQ(frames.back().opcode(), 0x8) << body(tcp);
  EXPECT_EQ(frames.back().close_code(), 1008);
  // A broken frame after the server's close gets no second close frame: the connection ends.
  ASSERT_TRUE(tcp.send(ws::frame({.opcode = 0x1, .rsv = 2}, "late")));
  EXPECT_TRUE(tcp.wait_closed(20s));
  EXPECT_EQ(parse_frames(body(tcp)).size(), frames.size()) << body(tcp);
}

// Beast's keep-alive, as the session reproduces it: a ping every half idle timeout; a peer that
// shows nothing at all in the half after a ping is dropped (no close frame), one that answers stays.
class WebSocketKeepAliveTest : public WebSocketProtocolTest {
 protected:
  WebSocketKeepAliveTest() { idle_timeout_ = 2; }

  // Reads until the `n`-th ping frame since the upgrade (counting all frames); its index.
  std::optional<std::size_t> wait_for_ping(RawTcp& tcp, std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto frames = parse_frames(body(tcp));
      std::size_t pings = 0;
      for (std::size_t i = 0; i < frames.size(); ++i)
        if (frames[i].opcode() == 0x9 && ++pings == n) return i;
      if (tcp.read_more(1s) == 0) return std::nullopt;
    }
    return std::nullopt;
  }
};

TEST_F(WebSocketKeepAliveTest, ASilentPeerIsPingedThenDropped) {
  const double before = closed("timeout");
  RawTcp tcp(node_->port());
  upgrade(tcp);
  ASSERT_TRUE(wait_for_ping(tcp, 1)) << body(tcp);
  EXPECT_TRUE(tcp.wait_closed(30s));
  for (const auto& frame : parse_frames(body(tcp))) EXPECT_NE(frame.opcode(), 0x8);
  EXPECT_TRUE(node_->wait_metric_at_least("newspush_connections_closed_total{reason=\"timeout\"}",
                                          before + 1));
}

TEST_F(WebSocketKeepAliveTest, APeerThatAnswersPingsStaysPastTheIdleTimeout) {
  RawTcp tcp(node_->port());
  upgrade(tcp);
  // Three pings, each answered: three half timeouts, longer than the idle timeout itself.
  for (std::size_t n = 1; n <= 3; ++n) {
    auto at = wait_for_ping(tcp, n);
    ASSERT_TRUE(at) << "ping " << n << ": " << body(tcp);
    ASSERT_TRUE(tcp.send(ws::pong(parse_frames(body(tcp))[*at].payload)));
  }
  const std::size_t seen = parse_frames(body(tcp)).size();
  ASSERT_TRUE(tcp.send(ws::text(R"({"op":"ping"})")));
  ASSERT_TRUE(tcp.read_until(R"({"type":"pong"})", 10s)) << body(tcp);
  for (const auto& frame : parse_frames(body(tcp))) EXPECT_NE(frame.opcode(), 0x8);
  EXPECT_GT(parse_frames(body(tcp)).size(), seen);
}

}  // namespace
}  // namespace newspush::test

// The codec over real loopback sockets (tests/websocket/echo_harness.cpp) with real clients:
// Debian's python3-websockets, Node's `ws` from node_modules, and a bare socket playing a broken
// client. Each test starts its own harness on a kernel-chosen port and kills it at the end.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support/child_process.hpp"
#include "tests/support/raw_tcp.hpp"
#include "tests/websocket/codec_driver.hpp"

namespace newspush::websocket::test {
namespace {

using namespace std::chrono_literals;
using newspush::test::ChildProcess;
using newspush::test::RawTcp;

class EchoHarness {
 public:
  explicit EchoHarness(std::vector<std::string> extra_args = {}) : process_(argv(extra_args)) {
    if (!process_.wait_for_line("listening on ", 30s))
      throw std::runtime_error("harness did not start: " + process_.output());
    for (const std::string& line : process_.lines())
      if (line.rfind("listening on ", 0) == 0)
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(13)));
  }
  std::uint16_t port() const { return port_; }
  ChildProcess& process() { return process_; }

 private:
  static std::vector<std::string> argv(std::vector<std::string> extra) {
    extra.insert(extra.begin(), WEBSOCKET_ECHO_HARNESS_BIN);
    return extra;
  }
  ChildProcess process_;
  std::uint16_t port_ = 0;
};

// The harness's connections are numbered in accept order; it says how each one ended.
void expect_connection_end(EchoHarness& harness, int connection, const std::string& how) {
  const std::string line = "connection " + std::to_string(connection) + ": " + how;
  EXPECT_TRUE(harness.process().wait_for_line(line, 30s)) << "expected \"" << line << "\"\n"
                                                          << harness.process().output();
}

void run_client(ChildProcess& client, const std::vector<std::string>& cases) {
  const auto status = client.wait_exit(120s);
  ASSERT_TRUE(status.has_value()) << "client still running\n" << client.output();
  EXPECT_EQ(*status, 0) << client.output();
  for (const std::string& name : cases)
    EXPECT_TRUE(client.wait_for_line("ok " + name, 1s)) << name << "\n" << client.output();
}

TEST(WebSocketConformance, PythonWebsocketsClient) {
  EchoHarness harness;
  ChildProcess client(
      {"/usr/bin/python3", WEBSOCKET_CONFORMANCE_PY, std::to_string(harness.port())});
  run_client(client, {"text", "binary", "lengths", "fragmented", "ping", "client close",
                      "server close", "invalid utf8"});
  expect_connection_end(harness, 1, "close received 4001, echoed 4001");
  expect_connection_end(harness, 2, "close completed 1000");
  expect_connection_end(harness, 3, "failed 1007");
}

TEST(WebSocketConformance, NodeWsClient) {
  // The `ws` package is an npm devDependency, installed by scripts/node-deps.sh (test.sh runs it
  // before ctest); NEWSPUSH_NODE_MODULES overrides where it is looked for. Missing, it fails:
  // a skip would pass unseen.
  const char* override_dir = std::getenv("NEWSPUSH_NODE_MODULES");
  const std::filesystem::path modules = override_dir ? override_dir : NEWSPUSH_NODE_MODULES_DEFAULT;
  ASSERT_TRUE(std::filesystem::exists(modules / "ws" / "package.json"))
      << "no " << (modules / "ws").string() << ": run scripts/node-deps.sh (npm ci)";
  EchoHarness harness;
  ChildProcess client(
      {"node", WEBSOCKET_CONFORMANCE_CJS, modules.string(), std::to_string(harness.port())});
  run_client(client, {"text", "lengths", "fragmented", "ping", "client close", "server close"});
  expect_connection_end(harness, 1, "close received 4001, echoed 4001");
  expect_connection_end(harness, 2, "close completed 1000");
}

// A client that breaks the protocol in each way gets the close code for it on the wire.
std::string upgraded(RawTcp& tcp) {
  EXPECT_TRUE(
      tcp.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n"));
  EXPECT_EQ(tcp.read_status(), 101);
  // RFC 6455 1.3's own example key and answer.
  EXPECT_NE(tcp.received().find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            std::string::npos)
      << tcp.received();
  return tcp.received().substr(tcp.received().find("\r\n\r\n") + 4);
}

std::string close_bytes(std::uint16_t code) {
  return {'\x88', '\x02', static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

TEST(WebSocketConformance, BrokenClientsGetTheirCloseCodeOverTheWire) {
  EchoHarness harness{{"--max-message", "1000"}};
  struct Case {
    std::string bytes;
    std::uint16_t code;
  };
  const std::vector<Case> cases = {
      {frame({.opcode = 0x1, .masked = false}, "unmasked"), 1002},
      {frame({.opcode = 0x1, .rsv = 4}, "rsv1"), 1002},
      {frame({.opcode = 0x5}, ""), 1002},
      {text("\xce\xba\xed\xa0\x80"), 1007},
      {text(std::string(1001, 'x')), 1009},
      {close(1005), 1002},
      {continuation("orphan"), 1002},
  };
  int connection = 0;
  for (const Case& c : cases) {
    RawTcp tcp{harness.port()};
    ++connection;
    upgraded(tcp);
    // A good message first, byte by byte over the socket, must come back whole.
    for (char byte : text("fine")) ASSERT_TRUE(tcp.send(std::string(1, byte)));
    ASSERT_TRUE(tcp.send(c.bytes));
    EXPECT_TRUE(tcp.wait_closed(30s));
    const std::string reply = tcp.received().substr(tcp.received().find("\r\n\r\n") + 4);
    EXPECT_EQ(reply, std::string("\x81\x04"
                                 "fine") +
                         close_bytes(c.code))
        << connection;
    expect_connection_end(harness, connection, "failed " + std::to_string(c.code));
  }
}

TEST(WebSocketConformance, PingAndCloseOverABareSocket) {
  EchoHarness harness;
  RawTcp tcp{harness.port()};
  upgraded(tcp);
  ASSERT_TRUE(tcp.send(concat({ping("are you there"), text("a", false), ping(""), continuation("b"),
                               close(1001, "leaving")})));
  EXPECT_TRUE(tcp.wait_closed(30s));
  const std::string reply = tcp.received().substr(tcp.received().find("\r\n\r\n") + 4);
  EXPECT_EQ(reply, std::string("\x8a\x0d"
                               "are you there"
                               "\x8a\x00"
                               "\x81\x02"
                               "ab",
                               21) +
                       close_bytes(1001));
  expect_connection_end(harness, 1, "close received 1001, echoed 1001");
}

TEST(WebSocketConformance, ServerCloseThenABrokenFrameGetsNoSecondClose) {
  EchoHarness harness;
  RawTcp tcp{harness.port()};
  upgraded(tcp);
  ASSERT_TRUE(tcp.send(concat({text("close-me"), frame({.opcode = 0x1, .rsv = 2}, "late")})));
  EXPECT_TRUE(tcp.wait_closed(30s));
  const std::string reply = tcp.received().substr(tcp.received().find("\r\n\r\n") + 4);
  EXPECT_EQ(reply, std::string("\x88\x05\x03\xe8"
                               "bye"));
  expect_connection_end(harness, 1, "failed 1002");
}

}  // namespace
}  // namespace newspush::websocket::test

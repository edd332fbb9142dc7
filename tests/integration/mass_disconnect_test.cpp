// A mass disconnect on a real newspushd: every connection leaves the index promptly, and the
// index still serves the connections that come next.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/articles.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kConnections = 15000;
const std::array<std::string, 4> kCategories = {"sports", "culture", "politique", "tech"};

// A bare blocking socket per connection: a RawWsClient owns an io_context (several descriptors
// each), which 15,000 connections cannot afford under the 20,000 open-files limit.
class Sockets {
 public:
  Sockets() = default;
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;
  ~Sockets() { close_all(); }
  void add(int fd) { fds_.push_back(fd); }
  void take(Sockets& other) {
    fds_.insert(fds_.end(), other.fds_.begin(), other.fds_.end());
    other.fds_.clear();
  }
  std::size_t size() const { return fds_.size(); }
  void close_all() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }
  int operator[](std::size_t i) const { return fds_[i]; }

 private:
  std::vector<int> fds_;
};

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads up to the end of the upgrade response; true if it is a 101. What follows (the welcome)
// is left unread: the test never looks at it.
bool read_upgrade(int fd, Clock::time_point deadline) {
  std::string head;
  char buffer[512];
  while (head.find("\r\n\r\n") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  return head.rfind("HTTP/1.1 101", 0) == 0;
}

// A masked text frame with a zero mask key, which leaves the payload as is.
std::string text_frame(std::string_view payload) {
  std::string frame{'\x81', static_cast<char>(0x80 | payload.size()), '\0', '\0', '\0', '\0'};
  return frame.append(payload);
}

// Opens `count` WebSocket connections subscribed to kCategories[first % 4], [first+1 % 4], ...
// In batches: a batch's upgrades are all in flight before its answers are read, so the round
// trips overlap, and a batch stays well under the listen backlog. Empty string on success.
std::string open_subscribed(std::uint16_t port, std::size_t first, std::size_t count,
                            Sockets& out) {
  constexpr std::size_t kBatch = 200;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string upgrade = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
  for (std::size_t done = 0; done < count;) {
    std::size_t batch_start = out.size();
    std::size_t n = std::min(kBatch, count - done);
    for (std::size_t i = 0; i < n; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return "socket: " + std::string(strerror(errno));
      out.add(fd);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return "connect: " + std::string(strerror(errno));
      if (!write_all(fd, upgrade)) return "sending an upgrade request failed";
    }
    auto deadline = Clock::now() + std::chrono::seconds(30);
    for (std::size_t i = 0; i < n; ++i) {
      int fd = out[batch_start + i];
      if (!read_upgrade(fd, deadline)) return "no 101 answer to an upgrade";
      const auto& category = kCategories[(first + done + i) % kCategories.size()];
      if (!write_all(fd, text_frame(R"({"op":"subscribe","categories":[")" + category + R"("]})")))
        return "sending a subscribe failed";
    }
    done += n;
  }
  return {};
}

TEST(MassDisconnect, FifteenThousandConnectionsDroppedAtOnceLeaveTheIndex) {
  RedisServer redis;
  // One worker thread holds every connection: the largest lists removal can meet. A long idle
  // timeout keeps pings and idle closes out of the count.
  NewspushdProcess server(redis.url(), {"--threads", "1", "--idle-timeout", "600"});
  ASSERT_TRUE(server.wait_ready()) << server.output();
  // Categories the history carries have a series of their own in /metrics (others are counted
  // together): publish in each, and wait until the node has delivered them.
  for (const auto& category : kCategories) {
    auto reply = redis.command({"FCALL", "newspush_publish", "1", "news:log",
                                R"({"id":"first-)" + category + R"(","category":")" + category +
                                    R"(","title":"Premier"})"});
    ASSERT_EQ(reply.type, RedisValue::Type::array) << reply.text;
  }
  ASSERT_TRUE(server.wait_metric_at_least("newspush_articles_total", kCategories.size()));

  // A few threads: the test's reads and writes then overlap the server's work on the other core.
  constexpr std::size_t kThreads = 3;
  auto opening = Clock::now();
  std::array<Sockets, kThreads> parts;
  std::array<std::string, kThreads> errors;
  {
    std::vector<std::jthread> openers;
    for (std::size_t t = 0; t < kThreads; ++t) {
      std::size_t first = t * kConnections / kThreads;
      std::size_t count = (t + 1) * kConnections / kThreads - first;
      openers.emplace_back([&, t, first, count] {
        errors[t] = open_subscribed(server.port(), first, count, parts[t]);
      });
    }
  }
  Sockets sockets;
  for (auto& part : parts) sockets.take(part);
  for (const auto& error : errors) ASSERT_EQ(error, "") << server.output().substr(0, 2000);
  ASSERT_EQ(sockets.size(), kConnections);
  for (const auto& category : kCategories) {
    ASSERT_TRUE(server.wait_metric_at_least("newspush_subscriptions{category=\"" + category + "\"}",
                                            kConnections / kCategories.size(), 60s));
  }
  ASSERT_EQ(server.metric("newspush_connections"), kConnections);
  auto opened_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - opening);

  auto dropping = Clock::now();
  sockets.close_all();
  // Generous so that a loaded machine never fails it; the time taken is printed below.
  ASSERT_TRUE(server.wait_metric_at_most("newspush_connections", 0, 60s))
      << "still open: " << server.metric("newspush_connections");
  auto dropped_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - dropping);
  std::cout << "[ info ] " << kConnections << " connections opened and subscribed in "
            << opened_ms.count() << " ms; after dropping them all at once, gone from the index in "
            << dropped_ms.count() << " ms (metrics polled every 50 ms)\n";
  for (const auto& category : kCategories) {
    EXPECT_EQ(server.metric_if_present("newspush_subscriptions{category=\"" + category + "\"}")
                  .value_or(0),
              0)
        << category;
  }

  // The index still works for those who come next.
  auto client = WsClient::connect(server.port());
  ASSERT_TRUE(client->next_event_of_type("welcome"));
  auto reply = client->subscribe({"sports"});
  ASSERT_TRUE(reply && (*reply)["type"] == "subscribed");
  redis.publish("news:articles", make_article("after-the-storm", "sports").dump());
  auto article = client->next_event_of_type("article");
  ASSERT_TRUE(article) << server.output().substr(0, 2000);
  EXPECT_EQ((*article)["article"]["id"], "after-the-storm");
}

}  // namespace
}  // namespace newspush::test

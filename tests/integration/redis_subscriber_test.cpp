// RedisSubscriber against a real redis-server that the tests kill, restart, pause and starve.
#include "server/redis/redis_subscriber.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "tests/support/redis_server.hpp"

namespace newspush::redis {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;

constexpr auto patience = 10s;

struct Message {
  std::string channel;
  std::string payload;
};

// Runs one subscriber on its own I/O thread and records what its handlers see.
class Harness {
 public:
  explicit Harness(SubscriberOptions options) {
    subscriber_ = std::make_unique<RedisSubscriber>(
        io_.get_executor(), std::move(options),
        SubscriberHandlers{
            .on_message =
                [this](std::string_view channel, std::string_view payload) {
                  record([&] {
                    messages_.push_back({std::string(channel), std::string(payload)});
                  });
                  if (on_message_hook) on_message_hook();
                },
            .on_state =
                [this](SubscriberState state) { record([&] { states_.push_back(state); }); }});
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Harness() {
    on_io([this] { subscriber_.reset(); });
    work_.reset();
    thread_.join();  // returns only once nothing is pending: hiredis and timers all finished
  }

  void start() { subscriber_->start(); }
  void destroy_subscriber() { subscriber_.reset(); }  // on the I/O thread
  void stop() {
    on_io([this] { subscriber_->stop(); });
  }
  RedisSubscriber& subscriber() { return *subscriber_; }

  template <typename Fn>
  void on_io(Fn fn) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Waits on the handlers' events, never on the clock alone.
  template <typename Predicate>
  bool wait_until(Predicate predicate, std::chrono::milliseconds timeout = patience) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return predicate(); });
  }
  bool wait_for_state(SubscriberState state, std::size_t occurrences = 1) {
    return wait_until([&] { return count_states(state) >= occurrences; });
  }
  bool wait_for_messages(std::size_t n) {
    return wait_until([&] { return messages_.size() >= n; });
  }
  // Polls stats (not an event) at a short interval, within the same generous bound.
  template <typename Predicate>
  bool wait_for_stats(Predicate predicate) {
    auto deadline = std::chrono::steady_clock::now() + patience;
    while (!predicate(subscriber_->stats())) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  std::vector<Message> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::size_t count_states(SubscriberState state) {  // caller may hold mutex_ via wait_until
    std::size_t n = 0;
    for (SubscriberState s : states_) n += s == state;
    return n;
  }
  std::size_t state_count(SubscriberState state) {
    std::lock_guard lock(mutex_);
    return count_states(state);
  }
  std::size_t handler_calls() {
    std::lock_guard lock(mutex_);
    return messages_.size() + states_.size();
  }

  std::function<void()> on_message_hook;  // runs on the I/O thread, after recording

 private:
  template <typename Fn>
  void record(Fn fn) {
    std::lock_guard lock(mutex_);
    fn();
    changed_.notify_all();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Message> messages_;
  std::vector<SubscriberState> states_;
  std::unique_ptr<RedisSubscriber> subscriber_;
  std::thread thread_;
};

SubscriberOptions options_for(std::uint16_t port, std::vector<std::string> channels) {
  SubscriberOptions options;
  options.endpoint.port = port;
  options.channels = std::move(channels);
  options.connect_timeout = 1000ms;
  options.backoff_initial = 20ms;
  options.backoff_cap = 200ms;
  options.heartbeat_interval = 100ms;
  return options;
}

TEST(RedisSubscriber, ReceivesMessagesInOrderWithoutHeartbeats) {
  RedisServer redis;
  Harness harness(options_for(redis.port(), {"news:a", "news:b"}));
  harness.start();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed));

  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(redis.publish(i % 2 == 0 ? "news:a" : "news:b", "article " + std::to_string(i)), 1);
  redis.publish("news:other", "not subscribed");
  ASSERT_TRUE(harness.wait_for_messages(200));

  // Heartbeats (every 100 ms here) have been flowing meanwhile; none may leak out.
  std::this_thread::sleep_for(300ms);
  std::vector<Message> messages = harness.messages();
  ASSERT_EQ(messages.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(messages[i].channel, i % 2 == 0 ? "news:a" : "news:b");
    EXPECT_EQ(messages[i].payload, "article " + std::to_string(i));
  }
  EXPECT_EQ(harness.subscriber().stats().connects, 1u);
  EXPECT_EQ(harness.subscriber().state(), SubscriberState::subscribed);
}

TEST(RedisSubscriber, PassesPayloadsThroughByteExact) {
  RedisServer redis;
  Harness harness(options_for(redis.port(), {"bin"}));
  harness.start();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed));

  std::vector<std::string> payloads{
      std::string("a\0b\0", 4),
      "\xff\xfe\xc3\x28 not utf-8",
      "",
      "{\"not\": json",
      std::string(1 << 20, 'x') + std::string("\0end", 4),  // many hiredis reads
  };
  for (const std::string& payload : payloads) redis.publish("bin", payload);
  ASSERT_TRUE(harness.wait_for_messages(payloads.size()));
  std::vector<Message> messages = harness.messages();
  for (std::size_t i = 0; i < payloads.size(); ++i) EXPECT_TRUE(messages[i].payload == payloads[i]);
}

TEST(RedisSubscriber, ResubscribesAfterRedisIsKilledAndRestarted) {
  RedisServer redis;
  Harness harness(options_for(redis.port(), {"news"}));
  harness.start();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed));
  redis.publish("news", "before");
  ASSERT_TRUE(harness.wait_for_messages(1));

  redis.kill();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::disconnected));
  EXPECT_FALSE(harness.subscriber().last_error().empty());
  // Keeps retrying while redis is down.
  ASSERT_TRUE(harness.wait_for_stats([](SubscriberStats s) { return s.failed_attempts >= 2; }));

  redis.restart();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed, 2));
  redis.publish("news", "after");
  ASSERT_TRUE(harness.wait_for_messages(2));
  EXPECT_EQ(harness.messages()[1].payload, "after");
  SubscriberStats stats = harness.subscriber().stats();
  EXPECT_EQ(stats.connects, 2u);
  EXPECT_EQ(stats.disconnects, 1u);
}

TEST(RedisSubscriber, ResubscribesAfterClientKill) {
  RedisServer redis;
  Harness harness(options_for(redis.port(), {"news", "sport"}));
  harness.start();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed));

  EXPECT_EQ(redis.command_string({"CLIENT", "KILL", "TYPE", "pubsub"}), "1");
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed, 2));
  EXPECT_EQ(redis.publish("sport", "goal"), 1);
  ASSERT_TRUE(harness.wait_for_messages(1));
  SubscriberStats stats = harness.subscriber().stats();
  EXPECT_EQ(stats.connects, 2u);
  EXPECT_EQ(stats.disconnects, 1u);
}

TEST(RedisSubscriber, RetriesWithBackoffUntilRedisStarts) {
  std::uint16_t port = RedisServer::pick_free_port();
  Harness harness(options_for(port, {"news"}));
  harness.start();
  ASSERT_TRUE(harness.wait_for_stats([](SubscriberStats s) { return s.failed_attempts >= 3; }));
  EXPECT_EQ(harness.state_count(SubscriberState::subscribed), 0u);

  RedisServer redis({.port = port});
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed));
  redis.publish("news", "finally");
  ASSERT_TRUE(harness.wait_for_messages(1));
  EXPECT_EQ(harness.subscriber().stats().connects, 1u);
  EXPECT_EQ(harness.subscriber().stats().disconnects, 0u);
}

// A listener whose accept queue is full: the kernel drops further SYNs, so connects hang.
class BlackholeListener {
 public:
  BlackholeListener() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(listener_, 0);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    for (int& filler : fillers_) {
      filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address);
    }
  }
  ~BlackholeListener() {
    for (int filler : fillers_) close(filler);
    close(listener_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  int fillers_[4] = {-1, -1, -1, -1};
  std::uint16_t port_ = 0;
};

TEST(RedisSubscriber, ConnectTimeoutCountsAsFailedAttempt) {
  BlackholeListener blackhole;
  SubscriberOptions options = options_for(blackhole.port(), {"news"});
  options.connect_timeout = 100ms;
  Harness harness(options);
  harness.start();
  ASSERT_TRUE(harness.wait_for_stats([](SubscriberStats s) { return s.failed_attempts >= 2; }));
  EXPECT_EQ(harness.subscriber().last_error(), "connect timeout");
}

TEST(RedisSubscriber, StopWhileConnectingIsCleanAndSilent) {
  BlackholeListener blackhole;
  Harness harness(options_for(blackhole.port(), {"news"}));
  harness.start();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::connecting));
  harness.stop();
  std::size_t calls = harness.handler_calls();
  harness.on_io([&] { harness.subscriber().stop(); });  // idempotent
  std::this_thread::sleep_for(1200ms);                  // past the connect timeout
  EXPECT_EQ(harness.handler_calls(), calls);
  EXPECT_EQ(harness.subscriber().state(), SubscriberState::disconnected);
}

TEST(RedisSubscriber, StopWhileSubscribedIsCleanAndSilent) {
  RedisServer redis;
  Harness harness(options_for(redis.port(), {"news"}));
  harness.start();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed));
  harness.stop();
  std::size_t calls = harness.handler_calls();
  // Redis sees the subscription go away.
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (redis.publish("news", "after stop") != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(redis.publish("news", "after stop"), 0);
  EXPECT_EQ(harness.handler_calls(), calls);
}

TEST(RedisSubscriber, CanBeDestroyedFromInsideOnMessage) {
  RedisServer redis;
  Harness harness(options_for(redis.port(), {"news"}));
  harness.on_message_hook = [&] { harness.destroy_subscriber(); };
  harness.start();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed));
  // Both may arrive in one read: the second must not reach a destroyed subscriber.
  redis.command(
      {"EVAL", "redis.call('PUBLISH', 'news', 'one') redis.call('PUBLISH', 'news', 'two')", "0"});
  ASSERT_TRUE(harness.wait_for_messages(1));
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (redis.publish("news", "after destroy") != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(harness.messages().size(), 1u);
}

TEST(RedisSubscriber, HeartbeatDetectsAStalledServer) {
  RedisServer redis;
  SubscriberOptions options = options_for(redis.port(), {"news"});
  options.connect_timeout = 300ms;
  Harness harness(options);
  harness.start();
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed));

  // The TCP connection stays up but nothing answers: only the heartbeat can tell.
  ASSERT_TRUE(redis.process().send_signal(SIGSTOP));
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::disconnected));
  EXPECT_NE(harness.subscriber().last_error().find("heartbeat"), std::string::npos)
      << harness.subscriber().last_error();
  EXPECT_EQ(harness.subscriber().stats().disconnects, 1u);

  ASSERT_TRUE(redis.process().send_signal(SIGCONT));
  ASSERT_TRUE(harness.wait_for_state(SubscriberState::subscribed, 2));
  redis.publish("news", "awake");
  ASSERT_TRUE(harness.wait_for_messages(1));
  EXPECT_EQ(harness.messages().back().payload, "awake");
}

}  // namespace
}  // namespace newspush::redis

// newspushd under trouble: Redis going away, a consumer that stops reading, shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using nlohmann::json;

std::unique_ptr<WsClient> connect_subscribed(std::uint16_t port, std::vector<std::string> categories,
                                             WsClientOptions options = {}) {
  options.port = port;
  auto client = WsClient::connect(options);
  EXPECT_TRUE(client->next_event_of_type("welcome"));
  auto reply = client->subscribe(categories);
  EXPECT_TRUE(reply && (*reply)["type"] == "subscribed");
  return client;
}

TEST(Resilience, RedisKilledForFiveSecondsThenRestartedDeliveryResumes) {
  RedisServer redis;
  NewspushdProcess server(redis.url());
  ASSERT_TRUE(server.wait_ready()) << server.output();
  auto client = connect_subscribed(server.port(), {"sports"});
  redis.publish("news:articles", make_article("before", "sports").dump());
  auto first = client->next_event_of_type("article");
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["article"]["id"], "before");

  redis.kill();
  auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(server.wait_not_ready()) << server.output();
  EXPECT_TRUE(server.process().wait_for_line("redis.disconnected", 15s));
  // The outage lasts five seconds (the scenario, not a synchronisation): meanwhile the server
  // keeps retrying and keeps serving the clients it has.
  EXPECT_TRUE(server.wait_metric_at_least("newspush_redis_failed_attempts_total", 3, 30s));
  std::this_thread::sleep_until(killed_at + std::chrono::seconds(5));
  client->send_text(R"({"op":"ping"})");
  auto pong = client->next_event_of_type("pong");
  EXPECT_TRUE(pong);
  auto health = http_get(server.port(), "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(http_get(server.port(), "/readyz")->status, 503);

  redis.restart();
  ASSERT_TRUE(server.wait_ready(30s)) << server.output();
  redis.publish("news:articles", make_article("after", "sports").dump());
  auto second = client->next_event_of_type("article");
  ASSERT_TRUE(second) << server.output();
  EXPECT_EQ((*second)["article"]["id"], "after");
  EXPECT_EQ(server.metric("newspush_redis_connects_total"), 2);
  EXPECT_EQ(server.metric("newspush_redis_disconnects_total"), 1);
  EXPECT_TRUE(server.process().running());
}

TEST(Resilience, AHungRedisFailsRequestsWithinTheTimeoutThenServiceResumes) {
  RedisServer redis;
  const std::string key = "resilience-test-key-0123456789";
  NewspushdProcess node(redis.url(), {"--redis-timeout", "500ms", "--publish-key", key});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  auto client = connect_subscribed(node.port(), {"sports"});
  auto post = [&](const std::string& id) {
    return http_request(node.port(), "POST", "/api/v1/articles",
                        make_article(id, "sports").dump(), {{"Authorization", "Bearer " + key}},
                        20s);
  };

  // SIGSTOP: the sockets stay open, Redis just never answers (a stuck host, a long fsync).
  ASSERT_TRUE(redis.process().send_signal(SIGSTOP));
  auto started = std::chrono::steady_clock::now();
  auto hung = post("during-hang");
  ASSERT_TRUE(hung) << "the request itself hung";
  EXPECT_EQ(hung->status, 503) << hung->body;
  // The bound is the 500 ms timeout plus its check interval, with room for a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_TRUE(node.process().wait_for_line("no reply from redis within 0.5 s", 10s)) << node.output();

  ASSERT_TRUE(redis.process().send_signal(SIGCONT));
  ASSERT_TRUE(node.wait_ready()) << node.output();
  auto after = post("after-hang");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 201) << after->body;
  // The hung publish had reached Redis' socket: Redis ran it when it woke up. A 503 on timeout
  // means "outcome unknown", and a retry is safe: the same article comes back as a duplicate.
  auto retry = post("during-hang");
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->status == 200 || retry->status == 201) << retry->body;
  std::vector<std::string> ids;
  while (ids.empty() || ids.back() != "after-hang") {
    auto event = client->next_event_of_type("article", 15s);
    ASSERT_TRUE(event);
    ids.push_back((*event)["article"]["id"]);
  }
  EXPECT_LE(std::count(ids.begin(), ids.end(), "during-hang"), 1);
}

TEST(Resilience, RedisSubscriptionKilledIsReestablished) {
  RedisServer redis;
  NewspushdProcess server(redis.url());
  ASSERT_TRUE(server.wait_ready()) << server.output();
  auto client = connect_subscribed(server.port(), {"culture"});
  redis.command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(server.wait_metric_at_least("newspush_redis_connects_total", 2, 30s)) << server.output();
  ASSERT_TRUE(server.wait_ready());
  redis.publish("news:articles", make_article("c1", "culture").dump());
  auto event = client->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["article"]["id"], "c1");
}

// A client that stops reading is cut off with 1013 once its queue passes the bound, while 1,000
// other clients keep receiving every article, and no queue ever grows past the bound.
TEST(Resilience, SlowConsumerIsCutOffWhileAThousandOthersKeepReceiving) {
  constexpr std::size_t kFastClients = 1000;
  constexpr std::size_t kQueueBound = 64 * 1024;
  RedisServer redis;
  NewspushdProcess server(redis.url(), {"--threads", "2", "--max-send-queue", std::to_string(kQueueBound),
                                        "--max-article", "32768"});
  ASSERT_TRUE(server.wait_ready()) << server.output();

  WsClientOptions slow_options;
  slow_options.receive_buffer_bytes = 4096;
  auto slow = connect_subscribed(server.port(), {"culture"}, slow_options);
  slow->stop_reading();

  std::vector<std::unique_ptr<WsClient>> fast;
  for (std::size_t i = 0; i < kFastClients; ++i) fast.push_back(connect_subscribed(server.port(), {"sports"}));

  // Readers drain the fast clients all along, as real clients would; the publisher waits for
  // them to catch up every few articles, so a fast client never looks slow however busy the
  // machine is.
  constexpr int kReaders = 4;
  const auto give_up = std::chrono::steady_clock::now() + 240s;
  std::atomic<bool> publishing_done{false};
  std::atomic<std::size_t> published{0};
  std::vector<std::vector<std::string>> received(kFastClients);
  std::vector<std::atomic<std::size_t>> received_count(kFastClients);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      while (std::chrono::steady_clock::now() < give_up) {
        bool finished = publishing_done.load();
        std::size_t target = published.load();
        bool caught_up = true;
        for (std::size_t i = r; i < kFastClients; i += kReaders) {
          if (received[i].size() >= target) continue;
          while (auto event = fast[i]->next_event(1ms))
            if ((*event)["type"] == "article") received[i].push_back((*event)["article"]["id"]);
          received_count[i].store(received[i].size());
          if (received[i].size() < target) caught_up = false;
        }
        if (finished && caught_up) return;
        if (caught_up) std::this_thread::sleep_for(1ms);
      }
    });
  }
  auto wait_for_readers = [&] {
    while (std::chrono::steady_clock::now() < give_up) {
      bool behind = false;
      for (auto& n : received_count) behind = behind || n.load() < published.load();
      if (!behind) return;
      std::this_thread::sleep_for(1ms);
    }
  };

  const std::string big_summary(16 * 1024, 'x');
  std::vector<std::string> sports_ids;
  auto publish_sports = [&] {
    sports_ids.push_back("s" + std::to_string(sports_ids.size()));
    redis.publish("news:articles", make_article(sports_ids.back(), "sports").dump());
    published.store(sports_ids.size());
  };
  bool cut = false;
  for (int i = 0; i < 2000 && !cut; ++i) {
    json big = make_article("big" + std::to_string(i), "culture");
    big["summary"] = big_summary;
    redis.publish("news:articles", big.dump());
    publish_sports();
    if (i % 10 == 9) {
      wait_for_readers();
      cut = server.metric("newspush_slow_consumer_disconnects_total") >= 1;
    }
  }
  ASSERT_TRUE(cut || server.wait_metric_at_least("newspush_slow_consumer_disconnects_total", 1, 30s))
      << server.output();
  // The stalled client wakes up: it drains what was in flight, then finds the 1013 close.
  slow->resume_reading();
  ASSERT_TRUE(slow->wait_closed(30s));
  EXPECT_EQ(slow->close_code(), 1013) << slow->read_error();
  EXPECT_EQ(json::parse(slow->close_reason().empty() ? "{}" : slow->close_reason())["code"], "slow_consumer");

  for (int i = 0; i < 20; ++i) publish_sports();
  publishing_done.store(true);
  for (auto& t : readers) t.join();

  for (std::size_t i = 0; i < kFastClients; ++i)
    ASSERT_EQ(received[i], sports_ids) << "fast client " << i;
  EXPECT_EQ(server.metric("newspush_slow_consumer_disconnects_total"), 1);
  EXPECT_LE(server.metric("newspush_send_queue_peak_bytes"), kQueueBound);
}

TEST(Resilience, SigtermClosesClientsWith1001AndExitsZero) {
  RedisServer redis;
  NewspushdProcess server(redis.url(), {"--drain-timeout", "5"});
  ASSERT_TRUE(server.wait_ready()) << server.output();
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(connect_subscribed(server.port(), {"sports"}));
  ASSERT_TRUE(server.process().send_signal(SIGTERM));
  for (auto& client : clients) {
    ASSERT_TRUE(client->wait_closed(15s));
    EXPECT_EQ(client->close_code(), 1001);
    EXPECT_EQ(json::parse(client->close_reason())["code"], "shutdown");
  }
  EXPECT_EQ(server.process().wait_exit(15s), 0) << server.output();
}

// Shutdown while the control thread still owes answers to sessions: resumes waiting for a history
// read, publishes and a recent-list read stuck on a hung Redis. Their pending replies own
// sessions; none may outlive the worker threads they belong to (ASan builds abort on it).
TEST(Resilience, SigtermWhileHistoryReadsAndPublishesAreInFlightExitsCleanly) {
  RedisServer redis;
  const std::string key = "shutdown-test-key-0123456789";
  // No window: every resume reads Redis, and all 8 at once.
  NewspushdProcess node(redis.url(), {"--drain-timeout", "1", "--redis-timeout", "60s",
                                      "--publish-key", key, "--threads", "2", "--replay-window", "0",
                                      "--max-history-reads", "8"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  auto reply = redis.command({"FCALL", "newspush_publish", "1", "news:log",
                              make_article("before", "sports").dump()});
  ASSERT_EQ(reply.type, RedisValue::Type::array) << reply.text;
  const std::string since = reply.elements.at(0).text;

  ASSERT_TRUE(redis.process().send_signal(SIGSTOP));
  std::vector<std::unique_ptr<WsClient>> resuming;
  for (int i = 0; i < 8; ++i) {
    WsClientOptions options;
    options.port = node.port();
    resuming.push_back(WsClient::connect(options));
    resuming.back()->send_text(
        json({{"op", "subscribe"}, {"categories", {"sports"}}, {"since", since}}).dump());
    // "subscribed" comes before the replay, once the read has its slot.
    ASSERT_TRUE(resuming.back()->next_event_of_type("subscribed")) << node.output();
  }
  const double http_before = node.metric("newspush_http_requests_total");
  std::vector<std::future<std::optional<HttpResponse>>> requests;
  for (int i = 0; i < 4; ++i)
    requests.push_back(std::async(std::launch::async, [&, i] {
      return http_request(node.port(), "POST", "/api/v1/articles",
                          make_article("hung-" + std::to_string(i), "sports").dump(),
                          {{"Authorization", "Bearer " + key}}, 30s);
    }));
  requests.push_back(std::async(std::launch::async, [&] {
    return http_request(node.port(), "GET", "/api/v1/articles?limit=5", {}, {}, 30s);
  }));
  // Each request is counted when read, before it waits for Redis; so is each poll of /metrics
  // (http_before counted its own): all are read once the count, less the polls, has grown by 5.
  bool all_read = false;
  int polls = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 15s;
       !all_read && std::chrono::steady_clock::now() < deadline;) {
    ++polls;
    all_read = node.metric("newspush_http_requests_total") - polls >=
               http_before + static_cast<double>(requests.size());
    if (!all_read) std::this_thread::sleep_for(10ms);  // polling
  }
  ASSERT_TRUE(all_read) << node.output();

  ASSERT_TRUE(node.process().send_signal(SIGTERM));
  EXPECT_EQ(node.process().wait_exit(20s), 0) << node.output();
  for (auto& request : requests) request.wait();
  ASSERT_TRUE(redis.process().send_signal(SIGCONT));
}

TEST(Resilience, SigtermExitsZeroEvenWhenAClientIgnoresTheClose) {
  RedisServer redis;
  NewspushdProcess server(redis.url(), {"--drain-timeout", "1"});
  ASSERT_TRUE(server.wait_ready()) << server.output();
  auto deaf = RawWsClient::connect(server.port());  // never answers the close frame
  ASSERT_TRUE(server.wait_metric_at_least("newspush_connections", 1));
  ASSERT_TRUE(server.process().send_signal(SIGTERM));
  EXPECT_EQ(server.process().wait_exit(15s), 0) << server.output();
  EXPECT_TRUE(server.process().wait_for_line("drain.timed_out still_open=", 5s));
}

}  // namespace
}  // namespace newspush::test

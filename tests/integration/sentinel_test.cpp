// newspushd behind Redis Sentinel: a primary, one replica and three sentinels, real processes on
// loopback. The primary is SIGKILLed; the sentinels promote the replica; newspushd, which asks
// the sentinels before every reconnect and hears their +switch-master, follows and its readers
// keep receiving. The fuller test (two replicas, two nodes, a partition) is failover_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/articles.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_sentinel.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kMaster = "newspush";

std::unique_ptr<RedisServer> start_replica_of(const RedisServer& primary) {
  RedisServerOptions options;
  options.extra_args = {"--replicaof", "127.0.0.1", std::to_string(primary.port())};
  return std::make_unique<RedisServer>(options);
}

RedisSentinelOptions sentinel_options(const RedisServer& primary) {
  RedisSentinelOptions options;
  options.master_name = kMaster;
  options.master_port = primary.port();
  return options;
}

std::vector<std::string> sentinel_args(const std::vector<std::string>& addresses) {
  std::string list;
  for (const auto& address : addresses) list += (list.empty() ? "" : ",") + address;
  // --redis gives no address in sentinel mode: port 1 would refuse, proving it is not used.
  return {"--redis-sentinel", list, "--redis-master", kMaster};
}

std::unique_ptr<WsClient> connect_subscribed(std::uint16_t port,
                                             std::vector<std::string> categories) {
  auto client = WsClient::connect(port);
  EXPECT_TRUE(client->next_event_of_type("welcome"));
  auto reply = client->subscribe(categories);
  EXPECT_TRUE(reply && (*reply)["type"] == "subscribed");
  return client;
}

// Every event until n articles arrived (or the timeout): the test also looks at what else came.
std::vector<json> read_until_articles(WsClient& client, std::size_t n,
                                      std::chrono::milliseconds timeout) {
  std::vector<json> events;
  std::size_t articles = 0;
  auto deadline = Clock::now() + timeout;
  while (articles < n && Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto event = client.next_event(std::max(left, 1ms));
    if (!event) break;
    if ((*event)["type"] == "article") ++articles;
    events.push_back(*event);
  }
  return events;
}

std::vector<std::string> article_ids(const std::vector<json>& events) {
  std::vector<std::string> ids;
  for (const auto& event : events)
    if (event["type"] == "article") ids.push_back(event["article"]["id"]);
  return ids;
}

bool has_type(const std::vector<json>& events, const std::string& type) {
  return std::any_of(events.begin(), events.end(),
                     [&](const json& event) { return event["type"] == type; });
}

TEST(Sentinel, PrimaryKilledNewspushdFollowsThePromotedReplicaAndReadersKeepReceiving) {
  RedisServer primary;
  auto replica = start_replica_of(primary);
  ASSERT_TRUE(eventually(
      [&] { return replica->info_field("replication", "master_link_status") == "up"; }, 15s));
  std::vector<std::unique_ptr<RedisSentinel>> sentinels;
  for (int i = 0; i < 3; ++i)
    sentinels.push_back(std::make_unique<RedisSentinel>(sentinel_options(primary)));
  // A failover needs the sentinels to know each other (hello messages every 2 s) and the replica.
  ASSERT_TRUE(eventually(
      [&] {
        return std::all_of(sentinels.begin(), sentinels.end(), [](auto& s) {
          return s->master_field("num-other-sentinels") == "2" &&
                 s->master_field("num-slaves") == "1";
        });
      },
      20s));

  // The first sentinel listed is down: the others answer.
  std::uint16_t dead_sentinel = RedisServer::pick_free_port();
  NewspushdProcess node(
      "redis://127.0.0.1:1",
      sentinel_args({"127.0.0.1:" + std::to_string(dead_sentinel), sentinels[0]->address(),
                     sentinels[1]->address(), sentinels[2]->address()}));
  ASSERT_TRUE(node.wait_ready(20s)) << node.output();
  EXPECT_TRUE(
      node.process().wait_for_line("primary=127.0.0.1:" + std::to_string(primary.port()), 5s))
      << node.output();
  auto client = connect_subscribed(node.port(), {"world"});

  for (const char* id : {"a1", "a2", "a3"}) publish(primary, make_article(id, "world"));
  auto before = read_until_articles(*client, 3, 15s);
  ASSERT_EQ(article_ids(before), (std::vector<std::string>{"a1", "a2", "a3"}));
  // On the replica before the primary dies. Not WAIT: each command() runs on a connection of its
  // own, and WAIT only counts the replicas that have that connection's writes (none here).
  ASSERT_TRUE(eventually([&] { return replica->command({"XLEN", "news:log"}).integer == 3; }, 10s));

  primary.kill();  // SIGKILL
  ASSERT_TRUE(eventually([&] { return sentinels[1]->master_port() == replica->port(); }, 30s))
      << "no failover; sentinel says master at " << sentinels[1]->master_port().value_or(0);
  // newspushd re-asks the sentinels on reconnect and lands on the promoted replica.
  ASSERT_TRUE(
      node.process().wait_for_line("primary=127.0.0.1:" + std::to_string(replica->port()), 30s))
      << node.output();
  ASSERT_TRUE(node.wait_ready(30s)) << node.output();

  // The publisher finds the new primary the same way.
  auto current = sentinels[2]->master_port();
  ASSERT_EQ(current, replica->port());
  for (const char* id : {"b1", "b2", "b3"}) publish(*replica, make_article(id, "world"));
  auto after = read_until_articles(*client, 3, 15s);
  EXPECT_EQ(article_ids(after), (std::vector<std::string>{"b1", "b2", "b3"}));
  // The client never had to reconnect, saw no reset (the history moved with the replica) and
  // nothing twice.
  EXPECT_FALSE(has_type(after, "reset"));
  EXPECT_FALSE(client->closed());
  EXPECT_TRUE(client->no_event_within(500ms));
}

TEST(Sentinel, AllSentinelsDownAtStartIsLoggedNotReadyUntilOneComesUp) {
  RedisServer primary;
  std::vector<std::unique_ptr<RedisSentinel>> sentinels;
  for (int i = 0; i < 2; ++i)
    sentinels.push_back(std::make_unique<RedisSentinel>(sentinel_options(primary), false));
  NewspushdProcess node("redis://127.0.0.1:1",
                        sentinel_args({sentinels[0]->address(), sentinels[1]->address()}));
  // Clearly said, and retried (the existing backoff).
  ASSERT_TRUE(
      node.process().wait_for_line_count("no sentinel gave the primary of 'newspush'", 2, 20s))
      << node.output();
  EXPECT_TRUE(node.process().wait_for_line(sentinels[0]->address() + ": ", 1s)) << node.output();
  EXPECT_TRUE(node.wait_not_ready(2s));

  sentinels[1]->start();
  ASSERT_TRUE(node.wait_ready(30s)) << node.output();
  // The failover watch finds it too (after its own backoff).
  EXPECT_TRUE(node.process().wait_for_line(
      "redis.failover_watch master=newspush sentinel=" + sentinels[1]->address(), 15s))
      << node.output();
  EXPECT_TRUE(
      node.process().wait_for_line("primary=127.0.0.1:" + std::to_string(primary.port()), 5s))
      << node.output();
  auto client = connect_subscribed(node.port(), {"world"});
  publish(primary, make_article("c1", "world"));
  EXPECT_EQ(article_ids(read_until_articles(*client, 1, 15s)), std::vector<std::string>{"c1"});
}

}  // namespace
}  // namespace newspush::test

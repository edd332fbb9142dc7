// Redis high availability end to end: a primary, two replicas and three sentinels (real
// redis-server processes on loopback), two newspushd nodes publishing with --publish-replicas 1
// and WebSocket readers on each. The primary is SIGKILLed (with one sentinel already down), or
// cut off with SIGSTOP until a replica is promoted and then let back in. Every reader must end
// with every acknowledged article exactly once, in order; a reader told `reset` must find what
// it missed in the history, as PROTOCOL.md tells it to reload.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/articles.hpp"
#include "tests/support/cli_runner.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_sentinel.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/resuming_client.hpp"

namespace newspush::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kMaster = "newspush";
const std::string kKey = "failover-test-key-0123456789";

// Primary, two replicas in sync, three sentinels that know each other and both replicas.
// Full syncs start at once (Redis waits 5 s by default to batch replicas).
RedisServerOptions fast_sync(std::vector<std::string> args = {}) {
  RedisServerOptions options;
  options.extra_args = {"--repl-diskless-sync-delay", "0"};
  options.extra_args.insert(options.extra_args.end(), args.begin(), args.end());
  return options;
}

struct Topology {
  std::unique_ptr<RedisServer> primary = std::make_unique<RedisServer>(fast_sync());
  std::vector<std::unique_ptr<RedisServer>> replicas;
  std::vector<std::unique_ptr<RedisSentinel>> sentinels;

  Topology() {
    for (int i = 0; i < 2; ++i) {
      replicas.push_back(std::make_unique<RedisServer>(
          fast_sync({"--replicaof", "127.0.0.1", std::to_string(primary->port())})));
    }
    for (int i = 0; i < 3; ++i) {
      RedisSentinelOptions options;
      options.master_name = kMaster;
      options.master_port = primary->port();
      options.down_after = 1000ms;
      options.failover_timeout = 3000ms;
      sentinels.push_back(std::make_unique<RedisSentinel>(options));
    }
  }

  bool wait_settled() {
    bool synced = eventually(
        [&] {
          return std::all_of(replicas.begin(), replicas.end(), [](auto& r) {
            return r->info_field("replication", "master_link_status") == "up";
          });
        },
        15s);
    // A failover needs the sentinels to know each other (hello messages every 2 s) and the
    // replicas.
    return synced && eventually(
                         [&] {
                           return std::all_of(sentinels.begin(), sentinels.end(), [](auto& s) {
                             return s->master_field("num-other-sentinels") == "2" &&
                                    s->master_field("num-slaves") == "2";
                           });
                         },
                         20s);
  }

  std::vector<std::string> node_args() const {
    std::string list;
    for (const auto& s : sentinels) list += (list.empty() ? "" : ",") + s->address();
    return {"--redis-sentinel", list, "--redis-master", kMaster, "--publish-key", kKey,
            "--publish-replicas", "1", "--publish-replicas-timeout", "500ms"};
  }

  RedisServer* server_on(std::uint16_t port) {
    for (auto& r : replicas)
      if (r->port() == port) return r.get();
    return primary->port() == port ? primary.get() : nullptr;
  }
};

// Publishes world-0, world-1, ... through the nodes' POST /api/v1/articles, in turn, one at a
// time, for as long as it runs; remembers which were acknowledged (201 with a cursor).
class ContinuousPublisher {
 public:
  explicit ContinuousPublisher(std::vector<std::uint16_t> ports) : ports_(std::move(ports)) {
    thread_ = std::thread([this] { run(); });
  }
  ~ContinuousPublisher() { stop(); }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> acknowledged() const {
    std::lock_guard lock(mutex_);
    return acknowledged_;
  }
  std::size_t acknowledged_count() const { return acknowledged().size(); }
  std::map<int, int> statuses() const {
    std::lock_guard lock(mutex_);
    return statuses_;
  }

 private:
  void run() {
    const std::vector<std::pair<std::string, std::string>> auth = {
        {"Authorization", "Bearer " + kKey}, {"Content-Type", "application/json"}};
    for (std::size_t n = 0; !stopping_; ++n) {
      const std::string id = "world-" + std::to_string(n);
      auto response = http_request(ports_[n % ports_.size()], "POST", "/api/v1/articles",
                                   make_article(id, "world").dump(), auth, 5s);
      int status = response ? response->status : 0;
      {
        std::lock_guard lock(mutex_);
        ++statuses_[status];
        if (status == 201) acknowledged_.push_back(id);
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  std::vector<std::uint16_t> ports_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> acknowledged_;
  std::map<int, int> statuses_;  // HTTP status (0: no answer) -> count
  std::thread thread_;
};

struct Readers {
  std::vector<std::unique_ptr<ResumingClient>> clients;
  std::vector<std::string> names;

  void add(const std::string& name, std::uint16_t port) {
    names.push_back(name);
    clients.push_back(std::make_unique<ResumingClient>([port] { return port; },
                                                       std::vector<std::string>{"world"}));
  }
  void poll_all() {
    for (auto& c : clients) c->poll(10ms);
  }
  // Reads on every reader while waiting for `done`.
  bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() > deadline) return false;
      poll_all();
    }
    return true;
  }
  bool all_subscribed() {
    return std::all_of(clients.begin(), clients.end(),
                       [](auto& c) { return c->connected() && !c->cursor().empty(); });
  }
  bool all_have(const std::string& id) {
    return std::all_of(clients.begin(), clients.end(), [&](auto& c) {
      auto ids = c->article_ids();
      return std::find(ids.begin(), ids.end(), id) != ids.end();
    });
  }
};

bool logged(NewspushdProcess& node, const std::string& text) {
  for (const auto& line : node.process().lines())
    if (line.find(text) != std::string::npos) return true;
  return false;
}

// The article ids the history on `primary` holds (the stream itself: more than a reader's
// reload shows at once, and exactly what a resume can replay).
std::set<std::string> history_ids(RedisServer& primary) {
  std::set<std::string> ids;
  auto entries = primary.command({"XRANGE", "news:log", "-", "+"});
  for (const auto& entry : entries.elements) {
    const auto& fields = entry.elements.at(1).elements;
    std::string kind, id;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].text == "k") kind = fields[i + 1].text;
      if (fields[i].text == "i") id = fields[i + 1].text;
    }
    if (kind == "article") ids.insert(id);
  }
  return ids;
}

// Every acknowledged article exactly once and in order; unacknowledged ones may or may not have
// come, but never twice. A reader that was told reset may lack acknowledged articles from before
// it, and only if the history (which it reloads) holds them.
void expect_delivered(const ResumingClient& client, const std::string& name,
                      const std::vector<std::string>& acknowledged,
                      const std::set<std::string>& history) {
  auto ids = client.article_ids();
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size()) << name << " got an article twice\n" << client.recent_log();
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < acknowledged.size(); ++i) position[acknowledged[i]] = i;
  std::size_t last = 0;
  bool first = true;
  for (const auto& id : ids) {
    auto it = position.find(id);
    if (it == position.end()) continue;
    EXPECT_TRUE(first || it->second > last) << name << ": " << id << " out of order\n"
                                            << client.log_around(id);
    last = it->second;
    first = false;
  }
  for (const auto& id : acknowledged) {
    if (unique.contains(id)) continue;
    EXPECT_GT(client.resets(), 0u) << name << " lost acknowledged " << id << " without a reset\n"
                                   << client.log_around(id);
    EXPECT_TRUE(history.contains(id)) << name << ": " << id << " missing from the history too";
  }
}

std::string statuses_text(const std::map<int, int>& statuses) {
  std::string text;
  for (auto [status, count] : statuses)
    text += std::to_string(status) + "x" + std::to_string(count) + " ";
  return text;
}

std::string failover_line(std::uint16_t new_port) {
  return "redis.failover master=newspush primary=127.0.0.1:" + std::to_string(new_port);
}

TEST(Failover, PrimaryKilledMidStreamWithOneSentinelDownLosesNothingAcknowledged) {
  Topology redis;
  ASSERT_TRUE(redis.wait_settled());
  NewspushdProcess a("redis://127.0.0.1:1", redis.node_args());
  NewspushdProcess b("redis://127.0.0.1:1", redis.node_args());
  ASSERT_TRUE(a.wait_ready(20s)) << a.output();
  ASSERT_TRUE(b.wait_ready(20s)) << b.output();
  const std::string first_sentinel = redis.sentinels[0]->address();
  for (auto* node : {&a, &b})
    ASSERT_TRUE(node->process().wait_for_line(
        "redis.failover_watch master=newspush sentinel=" + first_sentinel, 10s))
        << node->output();

  Readers readers;
  readers.add("a1", a.port());
  readers.add("a2", a.port());
  readers.add("b1", b.port());
  readers.add("b2", b.port());
  ASSERT_TRUE(readers.pump_until([&] { return readers.all_subscribed(); }, 10s));

  ContinuousPublisher publisher({a.port(), b.port()});
  ASSERT_TRUE(readers.pump_until([&] { return publisher.acknowledged_count() >= 10; }, 20s))
      << statuses_text(publisher.statuses()) << a.output();

  // One sentinel down: the nodes listen on the next one, and the other two still fail over.
  redis.sentinels[0]->kill();
  const std::string second_sentinel = redis.sentinels[1]->address();
  ASSERT_TRUE(readers.pump_until(
      [&] {
        return logged(a, "redis.failover_watch master=newspush sentinel=" + second_sentinel) &&
               logged(b, "redis.failover_watch master=newspush sentinel=" + second_sentinel);
      },
      20s))
      << a.output();

  const std::size_t before_kill = publisher.acknowledged_count();
  redis.primary->kill();  // SIGKILL, mid-stream
  std::uint16_t promoted = 0;
  ASSERT_TRUE(readers.pump_until(
      [&] {
        auto port = redis.sentinels[1]->master_port();
        if (port && *port != redis.primary->port()) promoted = *port;
        return promoted != 0;
      },
      30s))
      << "no failover";
  // Followed at the announcement, by every node.
  ASSERT_TRUE(readers.pump_until(
      [&] { return logged(a, failover_line(promoted)) && logged(b, failover_line(promoted)); },
      20s))
      << a.output() << "\n----\n" << b.output();
  EXPECT_GE(a.metric("newspush_redis_failovers_total"), 1);
  EXPECT_GE(b.metric("newspush_redis_failovers_total"), 1);
  // Publishing goes on through the new primary (once the other replica follows it).
  ASSERT_TRUE(readers.pump_until(
      [&] { return publisher.acknowledged_count() >= before_kill + 10; }, 30s))
      << statuses_text(publisher.statuses()) << a.output();
  publisher.stop();

  auto acknowledged = publisher.acknowledged();
  // The CLI finds the new primary the same way (the dead sentinel first in the list), by flag
  // or by environment, and waits for the replica too.
  std::string sentinels;
  for (const auto& s : redis.sentinels) sentinels += (sentinels.empty() ? "" : ",") + s->address();
  auto published = run_cli({"publish", "--redis-sentinel", sentinels, "--redis-master", kMaster,
                            "--publish-replicas", "1", "--id", "world-cli", "--category", "world",
                            "--title", "From the CLI"});
  ASSERT_EQ(published.exit_code, 0) << published.output;
  EXPECT_NE(published.output.find("published "), std::string::npos) << published.output;
  acknowledged.push_back("world-cli");
  auto retracted = run_cli({"retract", "--publish-replicas", "1", "world-cli"},
                           {"NEWSPUSH_REDIS_SENTINELS=" + sentinels, "NEWSPUSH_REDIS_MASTER=newspush"});
  ASSERT_EQ(retracted.exit_code, 0) << retracted.output;
  EXPECT_NE(retracted.output.find("retracted "), std::string::npos) << retracted.output;

  ASSERT_TRUE(readers.pump_until([&] { return readers.all_have(acknowledged.back()); }, 20s));
  ASSERT_TRUE(readers.pump_until(
      [&] {
        return std::all_of(readers.clients.begin(), readers.clients.end(),
                           [](auto& c) { return !c->retractions().empty(); });
      },
      20s));
  readers.pump_until([] { return false; }, 300ms);  // anything late (a duplicate) shows up too
  const auto history = history_ids(*redis.server_on(promoted));
  for (const auto& id : acknowledged)
    EXPECT_TRUE(history.contains(id)) << "acknowledged " << id << " lost by the failover";
  for (std::size_t i = 0; i < readers.clients.size(); ++i)
    expect_delivered(*readers.clients[i], readers.names[i], acknowledged, history);
}

TEST(Failover, PartitionedPrimaryIsReplacedAndDemotedWhenItComesBack) {
  Topology redis;
  ASSERT_TRUE(redis.wait_settled());
  NewspushdProcess a("redis://127.0.0.1:1", redis.node_args());
  NewspushdProcess b("redis://127.0.0.1:1", redis.node_args());
  ASSERT_TRUE(a.wait_ready(20s)) << a.output();
  ASSERT_TRUE(b.wait_ready(20s)) << b.output();
  for (auto* node : {&a, &b})
    ASSERT_TRUE(node->process().wait_for_line("INFO redis.failover_watch ", 10s))
        << node->output();

  Readers readers;
  readers.add("a1", a.port());
  readers.add("b1", b.port());
  ASSERT_TRUE(readers.pump_until([&] { return readers.all_subscribed(); }, 10s));
  ContinuousPublisher publisher({a.port(), b.port()});
  ASSERT_TRUE(readers.pump_until([&] { return publisher.acknowledged_count() >= 5; }, 20s))
      << statuses_text(publisher.statuses()) << a.output();

  // Cut off: its connections stay open but nothing answers.
  ASSERT_TRUE(redis.primary->process().send_signal(SIGSTOP));
  std::uint16_t promoted = 0;
  bool failed_over = readers.pump_until(
      [&] {
        auto port = redis.sentinels[0]->master_port();
        if (port && *port != redis.primary->port()) promoted = *port;
        return promoted != 0 && logged(a, failover_line(promoted)) &&
               logged(b, failover_line(promoted));
      },
      30s);
  if (!failed_over) redis.primary->process().send_signal(SIGCONT);
  ASSERT_TRUE(failed_over) << a.output() << "\n----\n" << b.output();
  const std::size_t during = publisher.acknowledged_count();
  ASSERT_TRUE(readers.pump_until([&] { return publisher.acknowledged_count() >= during + 5; }, 30s))
      << statuses_text(publisher.statuses()) << a.output();

  // The partition heals: the sentinels turn the old primary into a replica of the new one.
  ASSERT_TRUE(redis.primary->process().send_signal(SIGCONT));
  ASSERT_TRUE(readers.pump_until(
      [&] {
        return redis.primary->info_field("replication", "role") == "slave" &&
               redis.primary->info_field("replication", "master_port") ==
                   std::to_string(promoted);
      },
      30s))
      << "old primary not demoted: " << redis.primary->info_field("replication", "role");
  const std::size_t healed = publisher.acknowledged_count();
  ASSERT_TRUE(readers.pump_until([&] { return publisher.acknowledged_count() >= healed + 5; }, 30s))
      << statuses_text(publisher.statuses()) << a.output();
  publisher.stop();

  // Both nodes ended on the new primary: their last subscription is there.
  for (auto* node : {&a, &b}) {
    std::string last;
    for (const auto& line : node->process().lines())
      if (line.find("redis.subscribed") != std::string::npos) last = line;
    EXPECT_NE(last.find("primary=127.0.0.1:" + std::to_string(promoted)), std::string::npos)
        << last;
  }
  const auto acknowledged = publisher.acknowledged();
  ASSERT_TRUE(readers.pump_until([&] { return readers.all_have(acknowledged.back()); }, 20s));
  readers.pump_until([] { return false; }, 300ms);
  const auto history = history_ids(*redis.server_on(promoted));
  for (const auto& id : acknowledged)
    EXPECT_TRUE(history.contains(id)) << "acknowledged " << id << " lost by the partition";
  for (std::size_t i = 0; i < readers.clients.size(); ++i)
    expect_delivered(*readers.clients[i], readers.names[i], acknowledged, history);
}

// With --publish-replicas and no replica to confirm, the writer is told so: 503 not_replicated,
// though the article was applied and is delivered; retrying the same article is recognised
// (the same cursor) and still not confirmed. The CLI says the same and exits 1.
TEST(Failover, UnconfirmedPublishIsAnswered503NotReplicated) {
  RedisServer lonely;  // a primary without replicas
  NewspushdProcess node(lonely.url(), {"--publish-key", kKey, "--publish-replicas", "1",
                                       "--publish-replicas-timeout", "100ms"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  Readers readers;
  readers.add("r1", node.port());
  ASSERT_TRUE(readers.pump_until([&] { return readers.all_subscribed(); }, 10s));
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + kKey}, {"Content-Type", "application/json"}};
  const std::string body = make_article("lonely-1", "world").dump();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto response = http_request(node.port(), "POST", "/api/v1/articles", body, auth);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503) << response->body;
    auto error = json::parse(response->body);
    EXPECT_EQ(error["error"], "not_replicated") << response->body;
    EXPECT_NE(error.dump().find("may still appear"), std::string::npos) << response->body;
  }
  auto retract = http_request(node.port(), "DELETE", "/api/v1/articles/lonely-1", {}, auth);
  ASSERT_TRUE(retract);
  EXPECT_EQ(retract->status, 503) << retract->body;
  ASSERT_TRUE(readers.pump_until([&] { return readers.all_have("lonely-1"); }, 10s));
  EXPECT_EQ(readers.clients[0]->article_ids(), std::vector<std::string>{"lonely-1"});

  auto cli = run_cli({"publish", "--redis", lonely.url(), "--publish-replicas", "1",
                      "--publish-replicas-timeout", "100", "--id", "lonely-2", "--category",
                      "world", "--title", "Alone"});
  EXPECT_EQ(cli.exit_code, 1) << cli.output;
  EXPECT_NE(cli.output.find("not_replicated"), std::string::npos) << cli.output;
}

TEST(Failover, CliSentinelOptionsAreCheckedAndAnUnreachableSetIsSaid) {
  const std::vector<std::string> article = {"--id", "x", "--category", "world", "--title", "T"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "publish");
    args.insert(args.end(), article.begin(), article.end());
    return run_cli(args);
  };
  auto half = with({"--redis-sentinel", "127.0.0.1:1"});
  EXPECT_EQ(half.exit_code, 2) << half.output;
  EXPECT_NE(half.output.find("needs --redis-master"), std::string::npos) << half.output;
  auto bad = with({"--redis-sentinel", "nowhere", "--redis-master", kMaster});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("bad --redis-sentinel 'nowhere'"), std::string::npos) << bad.output;
  const std::string down = "127.0.0.1:" + std::to_string(RedisServer::pick_free_port());
  auto unreachable = with({"--redis-sentinel", down, "--redis-master", kMaster});
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.output;
  EXPECT_NE(unreachable.output.find("no sentinel gave the primary of 'newspush' (" + down + ": "),
            std::string::npos)
      << unreachable.output;
}

}  // namespace
}  // namespace newspush::test

// newspush demo-feed: publish sample articles on Redis the way the newsroom does.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.hpp"
#include "cli/sample_articles.hpp"
#include "common/redis_url.hpp"

namespace newspush::cli {

namespace {

constexpr const char* kDemoFeedHelp =
    "Usage: newspush demo-feed [--redis URL] [--channel NAME] [--interval-ms MS] [--count N]\n"
    "\n"
    "Publishes fictional sample articles (JSON) on a Redis pub/sub channel, one every\n"
    "interval, and prints how many subscribers received each. Reconnects when Redis\n"
    "goes away.\n"
    "\n"
    "  --redis URL        redis://HOST[:PORT][/DB] (default redis://127.0.0.1:6379;\n"
    "                     pub/sub ignores the DB number)\n"
    "  --channel NAME     channel to publish on (default news:articles)\n"
    "  --interval-ms MS   pause between articles (default 1500)\n"
    "  --count N          stop after N articles (default: run until interrupted)\n";

struct DemoFeedOptions {
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string channel = "news:articles";
  std::chrono::milliseconds interval{1500};
  std::optional<std::uint64_t> count;
};

struct RedisContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;
struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

std::string iso8601_utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Connects with a bound on connect and on each command, so a hung Redis cannot block us.
RedisContextPtr connect_redis(const RedisEndpoint& endpoint, std::string* error) {
  const timeval timeout{2, 0};
  RedisContextPtr context(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, timeout));
  if (!context) {
    *error = "out of memory";
    return nullptr;
  }
  if (context->err) {
    *error = context->errstr;
    return nullptr;
  }
  const timeval command_timeout{5, 0};
  redisSetTimeout(context.get(), command_timeout);
  redisEnableKeepAlive(context.get());
  return context;
}

}  // namespace

int run_demo_feed(std::span<char* const> args) {
  DemoFeedOptions options;
  ArgReader reader(args);
  std::string value;
  while (!reader.done()) {
    if (reader.flag("--help") || reader.flag("-h")) {
      std::cout << kDemoFeedHelp;
      return 0;
    }
    if (reader.option("--redis", &value)) {
      options.redis_url = value;
    } else if (reader.option("--channel", &value)) {
      if (value.empty()) throw UsageError("demo-feed: --channel must not be empty");
      options.channel = value;
    } else if (reader.option("--interval-ms", &value)) {
      options.interval =
          std::chrono::milliseconds(parse_number(value, "--interval-ms", 0, 24ull * 3600 * 1000));
    } else if (reader.option("--count", &value)) {
      options.count = parse_number(value, "--count", 1, 1000000000);
    } else {
      throw UsageError("demo-feed: unexpected argument '" + std::string(reader.current()) + "'");
    }
  }
  std::string error;
  const auto endpoint = parse_redis_url(options.redis_url, &error);
  if (!endpoint) throw UsageError("demo-feed: bad --redis '" + options.redis_url + "': " + error);
  const std::string redis_name = to_url(*endpoint);

  const auto articles = sample_articles();
  std::mt19937 random(std::random_device{}());
  // A shuffled deck, reshuffled when exhausted: every headline shows up before any repeats.
  std::vector<std::size_t> deck(articles.size());
  for (std::size_t i = 0; i < deck.size(); ++i) deck[i] = i;
  std::size_t next_card = deck.size();
  std::bernoulli_distribution breaking(1.0 / 12);
  const auto epoch = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();

  RedisContextPtr redis;
  auto backoff = std::chrono::milliseconds(250);
  const auto max_backoff = std::chrono::milliseconds(5000);
  std::uint64_t published = 0;
  std::uint64_t sequence = 0;
  std::optional<nlohmann::ordered_json> pending;

  while (!options.count || published < *options.count) {
    if (!redis) {
      redis = connect_redis(*endpoint, &error);
      if (!redis) {
        std::cerr << "[" << clock_now() << "] cannot reach " << redis_name << ": " << error
                  << "; retrying in " << backoff.count() << " ms" << std::endl;
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, max_backoff);
        continue;
      }
      backoff = std::chrono::milliseconds(250);
      std::cerr << "[" << clock_now() << "] connected to " << redis_name << ", publishing on "
                << options.channel << std::endl;
    }

    // An article whose PUBLISH failed is sent again, same id, once Redis is back.
    if (!pending) {
      if (next_card == deck.size()) {
        std::shuffle(deck.begin(), deck.end(), random);
        next_card = 0;
      }
      const SampleArticle& sample = articles[deck[next_card++]];
      ++sequence;
      const std::string id = "demo-" + std::to_string(epoch) + "-" + std::to_string(sequence);
      pending = nlohmann::ordered_json{
          {"id", id},
          {"category", sample.category},
          {"title", sample.title},
          {"summary", sample.summary},
          {"url", "https://example.org/" + std::string(sample.category) + "/" + id},
          {"published_at", iso8601_utc_now()},
          {"tags", sample.tags},
          {"breaking", breaking(random)},
      };
    }
    const nlohmann::ordered_json& article = *pending;
    const std::string payload = article.dump();

    ReplyPtr reply(static_cast<redisReply*>(
        redisCommand(redis.get(), "PUBLISH %b %b", options.channel.data(), options.channel.size(),
                     payload.data(), payload.size())));
    if (!reply) {
      std::cerr << "[" << clock_now() << "] lost " << redis_name << ": " << redis->errstr
                << "; reconnecting" << std::endl;
      redis.reset();
      continue;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::cerr << "newspush: " << redis_name
                << " refused PUBLISH: " << std::string(reply->str, reply->len) << "\n";
      return 1;
    }
    ++published;
    const std::string id = article["id"];
    const std::string category = article["category"];
    const std::string title = article["title"];
    const bool is_breaking = article["breaking"];
    pending.reset();
    const long long receivers = reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    std::cout << "[" << clock_now() << "] " << id << "  " << category << "  " << title
              << (is_breaking ? "  [BREAKING]" : "") << "  -> " << receivers
              << (receivers == 1 ? " receiver" : " receivers") << std::endl;

    if (!options.count || published < *options.count) std::this_thread::sleep_for(options.interval);
  }
  return 0;
}

}  // namespace newspush::cli

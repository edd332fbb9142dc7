// newspush demo-feed: publish sample articles on Redis the way the newsroom does, and optionally
// play the readers (synthetic views over HTTP, see view_feed.hpp) for the trending lists.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.hpp"
#include "cli/redis_client.hpp"
#include "cli/sample_articles.hpp"
#include "cli/view_feed.hpp"
#include "common/redis_url.hpp"

namespace newspush::cli {

namespace {

constexpr const char* kDemoFeedHelp =
    "Usage: newspush demo-feed [--redis URL] [--redis-sentinel HOST:PORT --redis-master NAME]\n"
    "                          [--history-key KEY] [--bare [--channel NAME]]\n"
    "                          [--interval-ms MS] [--count N]\n"
    "                          [--views-url URL [--key KEY] [--views-per-second N]]\n"
    "\n"
    "Publishes fictional sample articles, one every interval, through the atomic publish\n"
    "path (FCALL newspush_publish: stored in the history, resumable) and prints each\n"
    "cursor. Reconnects when Redis goes away. Their categories: politique, societe,\n"
    "economie, sports, culture, international, sante, technologie and premium-enquetes\n"
    "(subscriber-only where newspushd has --restricted-category premium-*).\n"
    "\n"
    "With --views-url it also plays the readers, for the trending lists: about every second\n"
    "it POSTs a batch of views of the articles it published recently, a few hot stories\n"
    "getting most of them, popularity shifting as new stories come out and old ones cool\n"
    "down or resurface. A failed POST (newspushd not up yet, Redis down) is reported now\n"
    "and then and never stops the feed.\n"
    "\n"
    "  --redis URL        redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (default: the\n"
    "                     NEWSPUSH_REDIS environment variable, else redis://127.0.0.1:6379;\n"
    "                     better there than on the command line when it holds a password,\n"
    "                     which is never printed)\n"
    NEWSPUSH_CLI_SENTINEL_HELP
    "  --history-key KEY  the history stream (default news:log)\n"
    "  --bare             plain PUBLISH instead: live only, no cursor\n"
    "  --channel NAME     channel for --bare (default news:articles)\n"
    "  --interval-ms MS   pause between articles (default 1500)\n"
    "  --count N          stop after N articles, and with --views-url one more batch of\n"
    "                     views (default: run until interrupted)\n"
    "  --views-url URL    newspushd's views API, e.g. http://127.0.0.1:8080/api/v1/views\n"
    "  --key KEY          Bearer key for it, one of newspushd's --publish-key (default: the\n"
    "                     NEWSPUSH_PUBLISH_KEY environment variable)\n"
    "  --views-per-second N  views sent per second (default 40)\n";

struct DemoFeedOptions {
  std::string redis_url = default_redis_url();
  SentinelOptions sentinel;
  std::string channel = "news:articles";
  std::string history_key = "news:log";
  bool bare = false;
  std::chrono::milliseconds interval{1500};
  std::optional<std::uint64_t> count;
  std::optional<ViewFeedOptions> views;  // with --views-url
};

using Clock = ViewFeed::Clock;

// Sleeps for `pause`; with views on, sends the batches that fall due meanwhile, so that views
// keep their pace whatever the article interval (and while Redis is being waited for).
void pause_for(std::chrono::milliseconds pause, ViewFeed* views) {
  const auto until = Clock::now() + pause;
  while (true) {
    if (views) views->send_if_due();
    if (Clock::now() >= until) return;
    std::this_thread::sleep_until(views ? std::min(until, views->next_batch_at()) : until);
  }
}

// A key ends up in an HTTP header: refuse what would break (or inject into) it.
bool is_header_safe(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) != 0x7f;
  });
}

}  // namespace

int run_demo_feed(std::span<char* const> args) {
  DemoFeedOptions options;
  ArgReader reader(args);
  std::string value;
  std::string views_url;
  std::optional<std::string> key;
  std::optional<std::uint64_t> views_per_second;
  while (!reader.done()) {
    if (reader.flag("--help") || reader.flag("-h")) {
      std::cout << kDemoFeedHelp;
      return 0;
    }
    if (reader.option("--redis", &value)) {
      options.redis_url = value;
    } else if (options.sentinel.read_option(reader)) {
    } else if (reader.flag("--bare")) {
      options.bare = true;
    } else if (reader.option("--history-key", &value)) {
      if (value.empty()) throw UsageError("demo-feed: --history-key must not be empty");
      options.history_key = value;
    } else if (reader.option("--channel", &value)) {
      if (value.empty()) throw UsageError("demo-feed: --channel must not be empty");
      options.channel = value;
    } else if (reader.option("--interval-ms", &value)) {
      options.interval =
          std::chrono::milliseconds(parse_number(value, "--interval-ms", 0, 24ull * 3600 * 1000));
    } else if (reader.option("--count", &value)) {
      options.count = parse_number(value, "--count", 1, 1000000000);
    } else if (reader.option("--views-url", &value)) {
      views_url = value;
    } else if (reader.option("--key", &value)) {
      key = value;
    } else if (reader.option("--views-per-second", &value)) {
      // One batch a second, and POST /api/v1/views takes at most 1000 views at once.
      views_per_second = parse_number(value, "--views-per-second", 1, 1000);
    } else {
      throw UsageError("demo-feed: unexpected argument '" + std::string(reader.current()) + "'");
    }
  }
  if (!views_url.empty()) {
    if (!views_url.starts_with("http://") && !views_url.starts_with("https://")) {
      throw UsageError("demo-feed: --views-url must start with http:// or https://, got '" +
                       views_url + "'");
    }
    // Views count only for articles in the history: bare PUBLISH stores none.
    if (options.bare) throw UsageError("demo-feed: --views-url does not work with --bare");
    if (!key) {
      const char* from_env = std::getenv("NEWSPUSH_PUBLISH_KEY");
      if (from_env && *from_env) key = from_env;
    }
    if (!key || key->empty()) {
      throw UsageError("demo-feed: --views-url needs --key KEY (or NEWSPUSH_PUBLISH_KEY)");
    }
    if (!is_header_safe(*key)) {
      throw UsageError("demo-feed: --key must not contain spaces or control characters");
    }
    options.views = ViewFeedOptions{views_url, *key, views_per_second.value_or(40)};
  } else if (key || views_per_second) {
    throw UsageError("demo-feed: --key and --views-per-second go with --views-url");
  }

  RedisEndpoint endpoint = parse_redis_option(options.redis_url, "demo-feed");
  options.sentinel.apply_to(endpoint, "demo-feed");
  const std::string redis_name = describe(endpoint);
  std::unique_ptr<ViewFeed> views;
  if (options.views) {
    views = std::make_unique<ViewFeed>(*options.views);
    std::cerr << "[" << clock_now() << "] sending about " << options.views->views_per_second
              << " views a second to " << options.views->url << std::endl;
  }

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
      std::string error;
      redis = connect_redis(endpoint, &error);
      if (!redis) {
        std::cerr << "[" << clock_now() << "] " << error << "; retrying in " << backoff.count()
                  << " ms" << std::endl;
        pause_for(backoff, views.get());
        backoff = std::min(backoff * 2, max_backoff);
        continue;
      }
      backoff = std::chrono::milliseconds(250);
      std::cerr << "[" << clock_now() << "] connected to " << redis_name << ", publishing "
                << (options.bare ? "on " + options.channel : "into " + options.history_key)
                << std::endl;
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
        options.bare
            ? redisCommand(redis.get(), "PUBLISH %b %b", options.channel.data(),
                           options.channel.size(), payload.data(), payload.size())
            : redisCommand(redis.get(), "FCALL newspush_publish 1 %b %b",
                           options.history_key.data(), options.history_key.size(),
                           payload.data(), payload.size())));
    if (!reply) {
      std::cerr << "[" << clock_now() << "] lost " << redis_name << ": " << redis->errstr
                << "; reconnecting" << std::endl;
      redis.reset();
      continue;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string error(reply->str, reply->len);
      if (error.find("Function not found") != std::string::npos) {
        // newspushd loads the functions when it connects: it may simply not have yet.
        std::cerr << "[" << clock_now() << "] the newspush functions are not loaded in "
                  << redis_name << " yet (start newspushd); retrying" << std::endl;
        pause_for(std::chrono::seconds(1), views.get());
        continue;
      }
      if (error.starts_with("READONLY")) {
        // A failover made this server a replica: find the primary again, same article.
        std::cerr << "[" << clock_now() << "] " << redis_name
                  << " is a replica now (failover); reconnecting" << std::endl;
        redis.reset();
        continue;
      }
      std::cerr << "newspush: " << redis_name << " refused the article: " << error << "\n";
      return 1;
    }
    ++published;
    const std::string id = article["id"];
    const std::string category = article["category"];
    const std::string title = article["title"];
    const bool is_breaking = article["breaking"];
    if (views) views->add_article(id, title);
    pending.reset();
    std::cout << "[" << clock_now() << "] " << id << "  " << category << "  " << title
              << (is_breaking ? "  [BREAKING]" : "");
    if (reply->type == REDIS_REPLY_INTEGER) {
      std::cout << "  -> " << reply->integer << (reply->integer == 1 ? " receiver" : " receivers");
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
               reply->element[0]->type == REDIS_REPLY_STRING) {
      std::cout << "  -> " << std::string(reply->element[0]->str, reply->element[0]->len);
    }
    std::cout << std::endl;

    if (!options.count || published < *options.count) pause_for(options.interval, views.get());
  }
  if (views) {
    // One more batch, so that the last articles of a --count run get their views too.
    std::this_thread::sleep_until(views->next_batch_at());
    views->send_if_due();
    views->print_totals();
  }
  return 0;
}

}  // namespace newspush::cli

// newspush publish / retract: the atomic publish path (Redis Functions in server/redis/newspush.lua)
// from the command line.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/redis_client.hpp"
#include "common/redis_url.hpp"
#include "protocol/article.hpp"

namespace newspush::cli {

namespace {

constexpr const char* kPublishHelp =
    "Usage: newspush publish [--redis URL] [--redis-sentinel HOST:PORT --redis-master NAME]\n"
    "                        [--history-key KEY] [--max-bytes N]\n"
    "                        [--publish-replicas N [--publish-replicas-timeout MS]]\n"
    "                        (--file PATH | --json STRING |\n"
    "                         --id ID --category SLUG --title TITLE [--summary S] [--url U]\n"
    "                         [--image U] [--tag T]... [--breaking] [--published-at ISO])\n"
    "\n"
    "Validates an article, then publishes it through the newspush Redis functions\n"
    "(FCALL newspush_publish): appended to the shared history and announced to every\n"
    "newspushd in one atomic step. Prints one line:\n"
    "  published CURSOR   a new article\n"
    "  updated CURSOR     a new version of an article id published before\n"
    "  duplicate CURSOR   the same article again (a retry): nothing was changed\n"
    "\n"
    "The article comes from exactly one of:\n"
    "  --file PATH        a JSON file ('-' reads standard input)\n"
    "  --json STRING      the JSON itself\n"
    "  field flags        --id, --category and --title are required; --tag may be repeated;\n"
    "                     --breaking marks it breaking news; published_at defaults to now\n"
    "                     (UTC, ISO-8601)\n"
    "The JSON is sent compacted, so reformatting a file does not make it a new version.\n"
    "\n"
    "  --redis URL        redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (default: the\n"
    "                     NEWSPUSH_REDIS environment variable, else redis://127.0.0.1:6379;\n"
    "                     better there than on the command line when it holds a password,\n"
    "                     which is never printed)\n"
    NEWSPUSH_CLI_SENTINEL_HELP
    "  --history-key KEY  the history stream, as newspushd's --history-key (default news:log)\n"
    "  --max-bytes N      largest article accepted, as newspushd's --max-article\n"
    "                     (default 262144)\n"
    "  --publish-replicas N  succeed only once N replicas confirmed the write (Redis WAIT),\n"
    "                     so that it survives a failover; else exit 1 with not_replicated\n"
    "                     (applied on the primary, it may still appear; running the same\n"
    "                     command again is safe). Default 0: no waiting\n"
    "  --publish-replicas-timeout MS  how long to wait for them (default 1000)\n"
    "\n"
    "Exit status: 0 done, 1 Redis error or not replicated, 2 bad arguments or invalid\n"
    "article.\n"
    "\n"
    "Example: newspush publish --id eco-77 --category economie --title \"Inflation slows\" \\\n"
    "           --tag prices --tag consumption --breaking\n";

constexpr const char* kRetractHelp =
    "Usage: newspush retract [--redis URL] [--redis-sentinel HOST:PORT --redis-master NAME]\n"
    "                        [--history-key KEY]\n"
    "                        [--publish-replicas N [--publish-replicas-timeout MS]] ID\n"
    "\n"
    "Withdraws the article ID (FCALL newspush_retract): subscribers of its category (and of\n"
    "breaking news, if it was) receive a retract event. Prints 'retracted CURSOR'. An article\n"
    "can be retracted while it is within the history's max age, once.\n"
    "\n"
    "  --redis URL        redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (default: the\n"
    "                     NEWSPUSH_REDIS environment variable, else redis://127.0.0.1:6379;\n"
    "                     better there than on the command line when it holds a password,\n"
    "                     which is never printed)\n"
    NEWSPUSH_CLI_SENTINEL_HELP
    "  --history-key KEY  the history stream, as newspushd's --history-key (default news:log)\n"
    "  --publish-replicas N  succeed only once N replicas confirmed the write (Redis WAIT),\n"
    "                     so that it survives a failover; else exit 1 with not_replicated\n"
    "                     (applied on the primary, it may still appear; running the same\n"
    "                     command again is safe). Default 0: no waiting\n"
    "  --publish-replicas-timeout MS  how long to wait for them (default 1000)\n"
    "\n"
    "Exit status: 0 done, 1 not found, not replicated or Redis error, 2 bad arguments.\n";

constexpr const char* kFunctionsHint =
    "the newspush functions are not loaded: start newspushd once against this Redis, or load "
    "them with: redis-cli -x FUNCTION LOAD REPLACE < server/redis/newspush.lua";

constexpr std::size_t kDefaultMaxBytes = 262144;

// Where the history lives, shared by publish and retract.
struct HistoryTarget {
  std::string redis_url = default_redis_url();
  SentinelOptions sentinel;
  std::string history_key = "news:log";
  std::uint64_t replicas = 0;
  std::uint64_t replicas_timeout_ms = 1000;

  // Consumes --redis, the sentinel options, --history-key and the replica options; false if the
  // current argument is none of them.
  bool read_option(ArgReader& reader, std::string_view command) {
    std::string value;
    if (sentinel.read_option(reader)) return true;
    if (reader.option("--publish-replicas", &value)) {
      replicas = parse_number(value, "--publish-replicas", 0, 64);
      return true;
    }
    if (reader.option("--publish-replicas-timeout", &value)) {
      replicas_timeout_ms = parse_number(value, "--publish-replicas-timeout", 10, 60000);
      return true;
    }
    if (reader.option("--redis", &value)) {
      redis_url = value;
      return true;
    }
    if (reader.option("--history-key", &value)) {
      if (value.empty()) throw UsageError(std::string(command) + ": --history-key must not be empty");
      history_key = value;
      return true;
    }
    return false;
  }
};

// A Redis failure, explained for the user: main prints "newspush: <what>" and exits 1.
struct RedisFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Connects (AUTH and SELECT as the URL says) and calls FCALL function 1 <history key> argument.
// Connection problems, a missing library and Redis without FCALL throw RedisFailure; other error
// replies are returned for the caller to interpret.
ReplyPtr call_function(const HistoryTarget& target, std::string_view command,
                       const std::string& function, const std::string& argument) {
  RedisEndpoint endpoint = parse_redis_option(target.redis_url, command);
  target.sentinel.apply_to(endpoint, command);
  const std::string name = describe(endpoint);
  std::string error;
  RedisContextPtr redis = connect_redis(endpoint, &error);
  if (!redis) throw RedisFailure(error);

  ReplyPtr reply =
      redis_command(redis.get(), {"FCALL", function, "1", target.history_key, argument});
  if (!reply) throw RedisFailure("lost " + name + " during FCALL " + function + ": " + redis->errstr);
  if (reply->type == REDIS_REPLY_ERROR) {
    const std::string text = reply_text(*reply);
    if (text.starts_with("ERR Function not found")) throw RedisFailure(name + ": " + kFunctionsHint);
    if (text.starts_with("ERR unknown command")) {
      throw RedisFailure(name + " does not know FCALL (" + text +
                         "): the atomic publish path needs Redis 7.0 or newer");
    }
    return reply;
  }
  if (target.replicas == 0) return reply;
  // On the same connection: WAIT counts the replicas holding everything it wrote, this write
  // included (a duplicate rewrites its record, so it too covers the original).
  ReplyPtr waited = redis_command(redis.get(), {"WAIT", std::to_string(target.replicas),
                                                std::to_string(target.replicas_timeout_ms)});
  if (!waited) throw RedisFailure("lost " + name + " during WAIT: " + redis->errstr);
  if (waited->type != REDIS_REPLY_INTEGER)
    throw RedisFailure(name + " refused WAIT: " + reply_text(*waited));
  if (waited->integer < static_cast<long long>(target.replicas)) {
    throw RedisFailure("not_replicated: applied on the primary but confirmed by " +
                       std::to_string(waited->integer) + " of " + std::to_string(target.replicas) +
                       " replicas within " + std::to_string(target.replicas_timeout_ms) +
                       " ms; it may still appear, or be lost if the primary fails now (running "
                       "the same command again is safe)");
  }
  return reply;
}

std::string read_input(const std::string& path) {
  std::ostringstream content;
  if (path == "-") {
    content << std::cin.rdbuf();
    if (std::cin.bad()) throw UsageError("publish: cannot read standard input");
    return content.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw UsageError("publish: cannot read '" + path + "': " + std::strerror(errno));
  }
  content << file.rdbuf();
  if (file.bad()) throw UsageError("publish: cannot read '" + path + "'");
  return content.str();
}

struct ArticleFields {
  std::optional<std::string> id, category, title, summary, url, image, published_at;
  std::vector<std::string> tags;
  bool breaking = false;
  bool any = false;  // some field flag was given
};

// Consumes one field flag into `fields`; false if the current argument is none of them.
bool read_field(ArgReader& reader, ArticleFields& fields) {
  std::string value;
  const std::pair<std::string_view, std::optional<std::string>*> options[] = {
      {"--id", &fields.id},
      {"--category", &fields.category},
      {"--title", &fields.title},
      {"--summary", &fields.summary},
      {"--url", &fields.url},
      {"--image", &fields.image},
      {"--published-at", &fields.published_at},
  };
  for (const auto& [name, target] : options) {
    if (reader.option(name, &value)) {
      if (target->has_value()) throw UsageError("publish: " + std::string(name) + " given twice");
      *target = value;
      fields.any = true;
      return true;
    }
  }
  if (reader.option("--tag", &value)) {
    fields.tags.push_back(value);
    fields.any = true;
    return true;
  }
  if (reader.flag("--breaking")) {
    fields.breaking = true;
    fields.any = true;
    return true;
  }
  return false;
}

std::string build_article(const ArticleFields& fields) {
  for (const auto& [name, value] : {std::pair{"--id", &fields.id},
                                    std::pair{"--category", &fields.category},
                                    std::pair{"--title", &fields.title}}) {
    if (!value->has_value()) {
      throw UsageError(std::string("publish: ") + name +
                       " is required when the article is built from flags "
                       "(or give --file / --json)");
    }
  }
  nlohmann::ordered_json article = {
      {"id", *fields.id}, {"category", *fields.category}, {"title", *fields.title}};
  if (fields.summary) article["summary"] = *fields.summary;
  if (fields.url) article["url"] = *fields.url;
  if (fields.image) article["image"] = *fields.image;
  article["published_at"] = fields.published_at ? *fields.published_at : iso8601_utc_now();
  if (!fields.tags.empty()) article["tags"] = fields.tags;
  article["breaking"] = fields.breaking;
  // A flag value that is not UTF-8 is replaced rather than thrown on; validation follows anyway.
  return article.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string_view verb_for(std::string_view kind) {
  if (kind == "article") return "published";
  if (kind == "update") return "updated";
  if (kind == "duplicate") return "duplicate";
  return {};
}

}  // namespace

int run_publish(std::span<char* const> args) {
  HistoryTarget target;
  ArticleFields fields;
  std::optional<std::string> file;
  std::optional<std::string> json;
  std::size_t max_bytes = kDefaultMaxBytes;
  ArgReader reader(args);
  std::string value;
  while (!reader.done()) {
    if (reader.flag("--help") || reader.flag("-h")) {
      std::cout << kPublishHelp;
      return 0;
    }
    if (target.read_option(reader, "publish") || read_field(reader, fields)) continue;
    if (reader.option("--file", &value)) {
      if (file) throw UsageError("publish: --file given twice");
      file = value;
    } else if (reader.option("--json", &value)) {
      if (json) throw UsageError("publish: --json given twice");
      json = value;
    } else if (reader.option("--max-bytes", &value)) {
      max_bytes = parse_number(value, "--max-bytes", 256, 64ull * 1024 * 1024);
    } else {
      throw UsageError("publish: unexpected argument '" + std::string(reader.current()) + "'");
    }
  }
  const int sources = (file ? 1 : 0) + (json ? 1 : 0) + (fields.any ? 1 : 0);
  if (sources == 0) {
    throw UsageError("publish: give the article with --file, --json or --id/--category/--title");
  }
  if (sources > 1) {
    throw UsageError("publish: --file, --json and the field flags (--id, --title, ...) "
                     "exclude each other");
  }

  const std::string input = file ? read_input(*file) : json ? *json : build_article(fields);
  auto parsed = protocol::parse_article(input, max_bytes);
  if (!parsed.ok()) {
    std::cerr << "newspush: invalid article: " << parsed.detail << " ("
              << protocol::to_string(parsed.error) << ")\n";
    return 2;
  }

  ReplyPtr reply = call_function(target, "publish", "newspush_publish", parsed.article.json);
  if (reply->type == REDIS_REPLY_ERROR) {
    std::cerr << "newspush: Redis refused the article: " << reply_text(*reply) << "\n";
    return 1;
  }
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
    const std::string cursor = reply_text(*reply->element[0]);
    const std::string_view verb = verb_for(reply_text(*reply->element[1]));
    if (!cursor.empty() && !verb.empty()) {
      std::cout << verb << " " << cursor << std::endl;
      return 0;
    }
  }
  std::cerr << "newspush: unexpected answer from newspush_publish (is the loaded library "
               "another version?)\n";
  return 1;
}

int run_retract(std::span<char* const> args) {
  HistoryTarget target;
  std::optional<std::string> id;
  ArgReader reader(args);
  bool options_ended = false;  // after "--", an ID may start with '-'
  while (!reader.done()) {
    if (!options_ended) {
      if (reader.flag("--help") || reader.flag("-h")) {
        std::cout << kRetractHelp;
        return 0;
      }
      if (target.read_option(reader, "retract")) continue;
      if (reader.flag("--")) {
        options_ended = true;
        continue;
      }
      if (reader.current().size() > 1 && reader.current().starts_with('-')) {
        throw UsageError("retract: unknown option '" + std::string(reader.current()) +
                         "' (use -- before an ID that starts with '-')");
      }
    }
    if (id) throw UsageError("retract: expected one article ID, got a second: '" +
                             std::string(reader.current()) + "'");
    id = std::string(reader.take());
  }
  if (!id) throw UsageError("retract: missing the article ID");
  if (id->empty() || id->size() > protocol::kMaxIdLength) {
    throw UsageError("retract: the article ID must be 1 to " +
                     std::to_string(protocol::kMaxIdLength) + " bytes");
  }

  ReplyPtr reply = call_function(target, "retract", "newspush_retract", *id);
  if (reply->type == REDIS_REPLY_ERROR) {
    const std::string text = reply_text(*reply);
    if (text.starts_with("ERR newspush: not_found:")) {
      std::cerr << "newspush: no article '" << *id
                << "' to retract: never published, already retracted, or older than the "
                   "history's max age\n";
    } else {
      std::cerr << "newspush: Redis refused the retract: " << text << "\n";
    }
    return 1;
  }
  const std::string cursor = reply_text(*reply);
  if (reply->type != REDIS_REPLY_STRING || cursor.empty()) {
    std::cerr << "newspush: unexpected answer from newspush_retract\n";
    return 1;
  }
  std::cout << "retracted " << cursor << std::endl;
  return 0;
}

}  // namespace newspush::cli

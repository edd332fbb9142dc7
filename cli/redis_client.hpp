#pragma once
// Short-lived synchronous hiredis connections for the subcommands that talk to Redis.
#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_url.hpp"

namespace newspush::cli {

struct RedisContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// --redis's default: $NEWSPUSH_REDIS when set (where a password is better kept than on a
// command line, which other users can read in ps), else redis://127.0.0.1:6379.
std::string default_redis_url();

// The endpoint of a --redis value; a bad one throws UsageError("<command>: bad --redis URL: why")
// without quoting the URL, which may hold a password.
RedisEndpoint parse_redis_option(const std::string& url, std::string_view command);

class ArgReader;

// --redis-sentinel HOST:PORT[,...] (repeatable) and --redis-master NAME, as newspushd's; the
// defaults are $NEWSPUSH_REDIS_SENTINELS and $NEWSPUSH_REDIS_MASTER. Given, the primary is found
// through the sentinels and --redis gives only the user, password and db.
struct SentinelOptions {
  SentinelOptions();
  // Consumes --redis-sentinel / --redis-master; false if the current argument is neither.
  bool read_option(ArgReader& reader);
  // Puts the sentinels into `endpoint`; a bad or half-given pair throws UsageError.
  void apply_to(RedisEndpoint& endpoint, std::string_view command) const;

  std::string sentinels;
  std::string master;
  bool sentinels_from_command_line = false;
};

// The lines of a command's --help for the two options above (a literal, to be concatenated).
#define NEWSPUSH_CLI_SENTINEL_HELP                                                          \
  "  --redis-sentinel HOST:PORT  find the Redis primary through these Sentinels (repeat,\n" \
  "                     or commas; default: NEWSPUSH_REDIS_SENTINELS); --redis then gives\n" \
  "                     only the user, password and db\n"                                  \
  "  --redis-master NAME  the name the Sentinels monitor the primary under (default:\n"    \
  "                     NEWSPUSH_REDIS_MASTER); required with --redis-sentinel\n"

// Connects with a bound on the connect (2 s) and on each command (5 s), so a hung Redis cannot
// block us, then sends AUTH (when the endpoint has a password) and SELECT (db != 0) before
// anything else: every subcommand that talks to Redis connects here. In sentinel mode the
// sentinels are asked in turn (each within 2 s) for the primary, and a server that does not
// answer ROLE master is refused (the sentinels' view is behind: retry). On failure returns nullptr
// and sets *error to a whole sentence naming the endpoint with to_url() (password masked).
RedisContextPtr connect_redis(const RedisEndpoint& endpoint, std::string* error);

// Sends one command given as separate arguments (binary safe). nullptr when the connection
// failed (see context->errstr).
ReplyPtr redis_command(redisContext* context, const std::vector<std::string>& argv);

// The reply's text for string, status and error replies ("" otherwise).
std::string reply_text(const redisReply& reply);

}  // namespace newspush::cli

#pragma once
// Short-lived synchronous hiredis connections for the subcommands that talk to Redis.
#include <hiredis/hiredis.h>

#include <memory>
#include <string>
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

// Connects with a bound on the connect (2 s) and on each command (5 s), so a hung Redis cannot
// block us. Does not SELECT the endpoint's DB. On failure returns nullptr and sets *error.
RedisContextPtr connect_redis(const RedisEndpoint& endpoint, std::string* error);

// Sends one command given as separate arguments (binary safe). nullptr when the connection
// failed (see context->errstr).
ReplyPtr redis_command(redisContext* context, const std::vector<std::string>& argv);

// The reply's text for string, status and error replies ("" otherwise).
std::string reply_text(const redisReply& reply);

}  // namespace newspush::cli

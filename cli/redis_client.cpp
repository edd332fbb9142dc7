#include "cli/redis_client.hpp"

#include <sys/time.h>

#include <cstdlib>

#include "cli/commands.hpp"

namespace newspush::cli {

std::string default_redis_url() {
  const char* from_env = std::getenv("NEWSPUSH_REDIS");
  return from_env && *from_env ? from_env : "redis://127.0.0.1:6379";
}

RedisEndpoint parse_redis_option(const std::string& url, std::string_view command) {
  std::string error;
  auto endpoint = parse_redis_url(url, &error);
  if (!endpoint) throw UsageError(std::string(command) + ": bad --redis URL: " + error);
  return *endpoint;
}

RedisContextPtr connect_redis(const RedisEndpoint& endpoint, std::string* error) {
  const std::string name = to_url(endpoint);
  const timeval timeout{2, 0};
  RedisContextPtr context(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, timeout));
  if (!context) {
    *error = "cannot reach " + name + ": out of memory";
    return nullptr;
  }
  if (context->err) {
    *error = "cannot reach " + name + ": " + context->errstr;
    return nullptr;
  }
  const timeval command_timeout{5, 0};
  redisSetTimeout(context.get(), command_timeout);
  redisEnableKeepAlive(context.get());

  std::vector<std::vector<std::string>> handshake;
  if (!endpoint.password.empty()) {
    // AUTH USER PASSWORD for an ACL user; AUTH PASSWORD for the default user (requirepass).
    if (endpoint.username.empty())
      handshake.push_back({"AUTH", endpoint.password});
    else
      handshake.push_back({"AUTH", endpoint.username, endpoint.password});
  }
  if (endpoint.db != 0) handshake.push_back({"SELECT", std::to_string(endpoint.db)});
  for (const auto& argv : handshake) {
    // Only the command's name is told: AUTH's arguments are the credentials.
    const std::string& command = argv.front();
    ReplyPtr reply = redis_command(context.get(), argv);
    if (!reply) {
      *error = "lost " + name + " during " + command + ": " + context->errstr;
      return nullptr;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      *error = name + " refused " + command + ": " + reply_text(*reply);
      return nullptr;
    }
  }
  return context;
}

ReplyPtr redis_command(redisContext* context, const std::vector<std::string>& argv) {
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  pointers.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& arg : argv) {
    pointers.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return ReplyPtr(static_cast<redisReply*>(redisCommandArgv(
      context, static_cast<int>(argv.size()), pointers.data(), lengths.data())));
}

std::string reply_text(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(reply.str, reply.len);
    default:
      return {};
  }
}

}  // namespace newspush::cli

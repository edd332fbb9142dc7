#include "cli/redis_client.hpp"

#include <sys/time.h>

namespace newspush::cli {

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

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

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// SENTINEL get-master-addr-by-name, asked of each sentinel in turn; the first answer wins.
bool find_primary(RedisEndpoint& endpoint, std::string* error) {
  std::string failures;
  for (const auto& sentinel : endpoint.sentinels) {
    const std::string name = sentinel.host + ":" + std::to_string(sentinel.port);
    auto failed = [&](const std::string& why) {
      failures += (failures.empty() ? "" : "; ") + name + ": " + why;
    };
    const timeval timeout{2, 0};
    RedisContextPtr context(redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port, timeout));
    if (!context || context->err) {
      failed(context ? context->errstr : "out of memory");
      continue;
    }
    redisSetTimeout(context.get(), timeout);
    ReplyPtr reply =
        redis_command(context.get(), {"SENTINEL", "get-master-addr-by-name", endpoint.sentinel_master});
    if (!reply) {
      failed(context->errstr);
      continue;
    }
    if (reply->type == REDIS_REPLY_NIL) {
      failed("does not know master '" + endpoint.sentinel_master + "'");
      continue;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      failed(reply->type == REDIS_REPLY_ERROR ? reply_text(*reply)
                                              : "unexpected answer to get-master-addr-by-name");
      continue;
    }
    const unsigned long port = std::strtoul(reply_text(*reply->element[1]).c_str(), nullptr, 10);
    const std::string host = reply_text(*reply->element[0]);
    if (host.empty() || port == 0 || port > 65535) {
      failed("unexpected answer to get-master-addr-by-name");
      continue;
    }
    endpoint.host = host;
    endpoint.port = static_cast<std::uint16_t>(port);
    return true;
  }
  *error = "no sentinel gave the primary of '" + endpoint.sentinel_master + "' (" + failures + ")";
  return false;
}

}  // namespace

SentinelOptions::SentinelOptions()
    : sentinels(env_or_empty("NEWSPUSH_REDIS_SENTINELS")),
      master(env_or_empty("NEWSPUSH_REDIS_MASTER")) {}

bool SentinelOptions::read_option(ArgReader& reader) {
  std::string value;
  if (reader.option("--redis-sentinel", &value)) {
    // The command line replaces the variable's list, then each repetition adds to it.
    if (!sentinels_from_command_line) sentinels.clear();
    sentinels_from_command_line = true;
    sentinels += (sentinels.empty() ? "" : ",") + value;
    return true;
  }
  if (reader.option("--redis-master", &value)) {
    master = value;
    return true;
  }
  return false;
}

void SentinelOptions::apply_to(RedisEndpoint& endpoint, std::string_view command) const {
  const std::string prefix = std::string(command) + ": ";
  if (sentinels.empty() && master.empty()) return;
  if (sentinels.empty())
    throw UsageError(prefix + "--redis-master needs --redis-sentinel, the sentinels to ask");
  if (master.empty())
    throw UsageError(prefix + "--redis-sentinel needs --redis-master, the name of the primary");
  std::size_t start = 0;
  for (;;) {
    const auto comma = sentinels.find(',', start);
    const std::string entry = sentinels.substr(start, comma == std::string::npos ? comma : comma - start);
    std::string error;
    auto sentinel = parse_host_port(entry, &error);
    if (!sentinel) throw UsageError(prefix + "bad --redis-sentinel '" + entry + "': " + error);
    endpoint.sentinels.push_back(*sentinel);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  endpoint.sentinel_master = master;
}

RedisContextPtr connect_redis(const RedisEndpoint& given, std::string* error) {
  RedisEndpoint endpoint = given;
  if (!endpoint.sentinels.empty() && !find_primary(endpoint, error)) return nullptr;
  const std::string name = endpoint.sentinels.empty()
                               ? to_url(endpoint)
                               : "primary " + endpoint.host + ":" + std::to_string(endpoint.port) +
                                     " (" + describe(endpoint) + ")";
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
  if (!endpoint.sentinels.empty()) {
    // An ACL without ROLE cannot be checked here; a READONLY answer tells later.
    ReplyPtr role = redis_command(context.get(), {"ROLE"});
    if (!role) {
      *error = "lost " + name + " during ROLE: " + context->errstr;
      return nullptr;
    }
    if (role->type == REDIS_REPLY_ARRAY && role->elements > 0 &&
        reply_text(*role->element[0]) != "master") {
      *error = name + " is not the primary (ROLE " + reply_text(*role->element[0]) +
               "): the sentinels' view is behind, a failover may be under way; retry";
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

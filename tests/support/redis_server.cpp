#include "tests/support/redis_server.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace newspush::test {
namespace {

using namespace std::chrono_literals;

constexpr auto start_timeout = 10s;
constexpr int start_attempts = 10;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

Context connect(std::uint16_t port, std::chrono::milliseconds timeout,
                const std::string& requirepass) {
  Context c(redisConnectWithTimeout("127.0.0.1", port, to_timeval(timeout)));
  if (!c || c->err != 0) return nullptr;
  redisSetTimeout(c.get(), to_timeval(5000ms));
  if (!requirepass.empty()) {
    Reply reply(static_cast<redisReply*>(redisCommand(c.get(), "AUTH %s", requirepass.c_str())));
    if (!reply || reply->type == REDIS_REPLY_ERROR) return nullptr;
  }
  return c;
}

}  // namespace

RedisValue to_redis_value(const redisReply* reply) {
  RedisValue value;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      value.type = RedisValue::Type::integer;
      value.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      value.type = reply->type == REDIS_REPLY_STRING   ? RedisValue::Type::string
                   : reply->type == REDIS_REPLY_STATUS ? RedisValue::Type::status
                                                       : RedisValue::Type::error;
      value.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      value.type = RedisValue::Type::array;
      for (std::size_t i = 0; i < reply->elements; ++i)
        value.elements.push_back(to_redis_value(reply->element[i]));
      break;
    default:
      break;
  }
  return value;
}

std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  return pattern;
}


RedisServer::RedisServer(RedisServerOptions options) : options_(options), dir_(make_temp_dir("newspush-redis")) {
  try {
    // Another test may grab a port between our probe and redis's bind: then try another.
    for (int attempt = 0; attempt < start_attempts; ++attempt) {
      port_ = options_.port != 0 ? options_.port : pick_free_port();
      if (start_on_current_port()) return;
    }
    throw std::runtime_error("redis-server did not start; last output:\n" +
                             (process_ ? process_->output() : std::string()));
  } catch (...) {
    process_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

RedisServer::~RedisServer() {
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

void RedisServer::kill() {
  if (process_) process_->kill();
}

void RedisServer::restart() {
  kill();
  for (int attempt = 0; attempt < start_attempts; ++attempt)
    if (start_on_current_port()) return;
  throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_) +
                           "; last output:\n" + (process_ ? process_->output() : std::string()));
}

bool RedisServer::start_on_current_port() {
  std::vector<std::string> argv{
      REDIS_SERVER_BIN, "--port", std::to_string(port_), "--bind", "127.0.0.1",
      "--save",         "",       "--daemonize",         "no",     "--dir",
      dir_.string()};
  if (options_.ipv6) argv.insert(argv.begin() + 5, "::1");  // after --bind 127.0.0.1
  if (!options_.requirepass.empty())
    argv.insert(argv.end(), {"--requirepass", options_.requirepass});
  if (!options_.acl_user.empty()) {
    argv.insert(argv.end(), {"--user", options_.acl_user, "on", ">" + options_.acl_password, "~*",
                             "&*", "+@all"});
  }
  if (options_.append_only) {
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    argv.insert(argv.end(), {"--appendonly", "no"});
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  process_.reset();
  process_ = std::make_unique<ChildProcess>(argv);
  auto deadline = std::chrono::steady_clock::now() + start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running()) return false;  // typically: port already in use
    if (answers_ping()) return true;
    std::this_thread::sleep_for(20ms);
  }
  process_->kill();
  return false;
}

bool RedisServer::answers_ping() {
  Context c = connect(port_, 500ms, options_.requirepass);
  if (!c) return false;
  Reply reply(static_cast<redisReply*>(redisCommand(c.get(), "PING")));
  return reply && reply->type == REDIS_REPLY_STATUS && std::string_view(reply->str) == "PONG";
}

std::string RedisServer::info_field(const std::string& section, const std::string& field) {
  try {
    std::string info = command({"INFO", section}).text;
    auto at = info.find(field + ":");
    if (at == std::string::npos) return {};
    auto start = at + field.size() + 1;
    return info.substr(start, info.find_first_of("\r\n", start) - start);
  } catch (const std::exception&) {
    return {};
  }
}

RedisValue RedisServer::command(const std::vector<std::string>& argv) {
  Context c = connect(port_, 2000ms, options_.requirepass);
  if (!c) throw std::runtime_error("cannot connect to redis on port " + std::to_string(port_));
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  Reply reply(static_cast<redisReply*>(
      redisCommandArgv(c.get(), static_cast<int>(args.size()), args.data(), lengths.data())));
  if (!reply) throw std::runtime_error(std::string("redis command failed: ") + c->errstr);
  return to_redis_value(reply.get());
}

std::string RedisServer::command_string(const std::vector<std::string>& argv) {
  RedisValue value = command(argv);
  return value.type == RedisValue::Type::integer ? std::to_string(value.integer) : value.text;
}

long long RedisServer::publish(std::string_view channel, std::string_view payload) {
  RedisValue value = command({"PUBLISH", std::string(channel), std::string(payload)});
  if (value.type != RedisValue::Type::integer)
    throw std::runtime_error("PUBLISH failed: " + value.text);
  return value.integer;
}

std::uint16_t RedisServer::pick_free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    int error = errno;
    close(fd);
    throw std::system_error(error, std::generic_category(), "bind 127.0.0.1:0");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace newspush::test

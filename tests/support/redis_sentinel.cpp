#include "tests/support/redis_sentinel.hpp"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace newspush::test {
namespace {

using namespace std::chrono_literals;

}  // namespace

RedisSentinel::RedisSentinel(RedisSentinelOptions options) : RedisSentinel(options, true) {}

RedisSentinel::RedisSentinel(RedisSentinelOptions options, bool start_now)
    : options_(std::move(options)), dir_(make_temp_dir("newspush-sentinel")) {
  port_ = options_.port != 0 ? options_.port : RedisServer::pick_free_port();
  if (start_now) {
    try {
      start();
    } catch (...) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      throw;
    }
  }
}

RedisSentinel::~RedisSentinel() {
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void RedisSentinel::write_config() {
  // Written afresh before each start: the sentinel rewrites it (epochs, known peers).
  std::ofstream conf(dir_ / "sentinel.conf", std::ios::trunc);
  const std::string& name = options_.master_name;
  conf << "port " << port_ << "\n"
       << "bind 127.0.0.1\n"
       << "daemonize no\n"
       << "dir " << dir_.string() << "\n"
       << "sentinel resolve-hostnames no\n"
       << "sentinel monitor " << name << " 127.0.0.1 " << options_.master_port << " "
       << options_.quorum << "\n"
       << "sentinel down-after-milliseconds " << name << " " << options_.down_after.count() << "\n"
       << "sentinel failover-timeout " << name << " " << options_.failover_timeout.count() << "\n"
       << "sentinel parallel-syncs " << name << " 1\n";
  if (!conf) throw std::runtime_error("cannot write " + (dir_ / "sentinel.conf").string());
}

void RedisSentinel::start() {
  kill();
  write_config();
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{REDIS_SERVER_BIN, (dir_ / "sentinel.conf").string(), "--sentinel"});
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running())
      throw std::runtime_error("redis sentinel exited on port " + std::to_string(port_) + ":\n" +
                               process_->output());
    try {
      if (command({"PING"}).text == "PONG") return;
    } catch (const std::runtime_error&) {
    }
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("redis sentinel did not answer on port " + std::to_string(port_) +
                           ":\n" + process_->output());
}

void RedisSentinel::kill() {
  if (process_) process_->kill();
}

RedisValue RedisSentinel::command(const std::vector<std::string>& argv) {
  timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (c == nullptr || c->err != 0) {
    if (c) redisFree(c);
    throw std::runtime_error("cannot connect to sentinel on port " + std::to_string(port_));
  }
  redisSetTimeout(c, timeout);
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lengths.data()));
  if (reply == nullptr) {
    std::string error = c->errstr;
    redisFree(c);
    throw std::runtime_error("sentinel command failed: " + error);
  }
  RedisValue value = to_redis_value(reply);
  freeReplyObject(reply);
  redisFree(c);
  return value;
}

std::optional<std::uint16_t> RedisSentinel::master_port() {
  try {
    auto reply = command({"SENTINEL", "get-master-addr-by-name", options_.master_name});
    if (reply.type != RedisValue::Type::array || reply.elements.size() != 2) return std::nullopt;
    return static_cast<std::uint16_t>(std::stoul(reply.elements[1].text));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string RedisSentinel::master_field(const std::string& field) {
  try {
    auto reply = command({"SENTINEL", "MASTER", options_.master_name});
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      if (reply.elements[i].text == field) return reply.elements[i + 1].text;
  } catch (const std::exception&) {
  }
  return {};
}

}  // namespace newspush::test

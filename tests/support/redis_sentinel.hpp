#pragma once
// A private Redis Sentinel for one test (redis-server CONF --sentinel: Debian's redis-server
// package has no redis-sentinel binary). Its config file lives in its own temp dir, since a
// sentinel rewrites it; killed and removed in the destructor.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/redis_server.hpp"

namespace newspush::test {

struct RedisSentinelOptions {
  std::string master_name = "newspush";
  std::uint16_t master_port = 0;  // on 127.0.0.1
  int quorum = 2;
  std::chrono::milliseconds down_after{1000};
  std::chrono::milliseconds failover_timeout{3000};
  std::uint16_t port = 0;  // 0: a free one
};

class RedisSentinel {
 public:
  // Starts it and waits until it answers PING. Throws std::runtime_error on failure.
  explicit RedisSentinel(RedisSentinelOptions options);
  // Reserves a port and writes the config, but starts nothing until start().
  RedisSentinel(RedisSentinelOptions options, bool start_now);
  ~RedisSentinel();
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  void start();
  void kill();
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  ChildProcess* process() { return process_.get(); }

  // One command on a short connection; throws std::runtime_error if it cannot connect.
  RedisValue command(const std::vector<std::string>& argv);
  // SENTINEL get-master-addr-by-name: the primary's port, nullopt if unknown or unreachable.
  std::optional<std::uint16_t> master_port();
  // A field of SENTINEL MASTER NAME (e.g. "num-other-sentinels"), "" if absent or unreachable.
  std::string master_field(const std::string& field);

 private:
  void write_config();

  RedisSentinelOptions options_;
  std::uint16_t port_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace newspush::test

#pragma once
// A private redis-server for one test: free loopback port, own temp dir, killed and removed in
// the destructor. Tests kill() and restart() it to exercise reconnects.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child_process.hpp"

struct redisReply;

namespace newspush::test {

struct RedisServerOptions {
  bool append_only = false;  // --appendonly yes --appendfsync always, kept across restart()
  // 0 = pick a free port. A fixed port lets a test point a client at it before it starts.
  std::uint16_t port = 0;
  bool ipv6 = false;  // listen on ::1 as well as 127.0.0.1
  // Non-empty: clients must AUTH. requirepass is the default user's password (--requirepass);
  // acl_user gets every right with acl_password (--user NAME on >PASS ~* &* +@all). The helpers
  // below (command(), publish(), the start-up PING) authenticate as the default user.
  std::string requirepass{};
  std::string acl_user{};
  std::string acl_password{};
  // Appended to redis-server's arguments, e.g. {"--replicaof", "127.0.0.1", "6379"}.
  std::vector<std::string> extra_args{};
};

// A reply without hiredis types, for assertions.
struct RedisValue {
  enum class Type { nil, integer, string, status, error, array };

  Type type = Type::nil;
  long long integer = 0;
  std::string text;                  // string, status and error replies
  std::vector<RedisValue> elements;  // array replies
};

// A hiredis reply as a RedisValue, and a fresh private directory under /tmp named after `prefix`:
// for every Redis process the tests start (servers, sentinels).
RedisValue to_redis_value(const redisReply* reply);
std::filesystem::path make_temp_dir(const std::string& prefix);

class RedisServer {
 public:
  // Starts redis-server and waits until it answers PING. Throws std::runtime_error on failure.
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT, no credentials
  const std::filesystem::path& dir() const { return dir_; }
  bool running() const { return process_ && process_->running(); }
  // The current redis-server process (e.g. to SIGSTOP/SIGCONT it or read its log).
  ChildProcess& process() { return *process_; }

  void kill();     // SIGKILL and reap; no-op if not running
  void restart();  // kill() if needed, then start again on the same port and dir

  // Each opens its own short connection. Throw std::runtime_error if redis cannot be reached.
  RedisValue command(const std::vector<std::string>& argv);
  // The reply's text (string/status/error) or its integer as text; "" for nil.
  std::string command_string(const std::vector<std::string>& argv);
  long long publish(std::string_view channel, std::string_view payload);
  // One field of INFO SECTION ("" if absent or if redis cannot be reached).
  std::string info_field(const std::string& section, const std::string& field);

  // Any (other) free loopback port, e.g. one where nothing listens yet.
  static std::uint16_t pick_free_port();

 private:
  bool start_on_current_port();
  bool answers_ping();

  RedisServerOptions options_;
  std::uint16_t port_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace newspush::test

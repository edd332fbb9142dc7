#pragma once
// One Redis connection for ordinary commands (FCALL, ...), kept open for as long as it runs:
// reconnects with capped, jittered backoff and runs a setup step (loading the functions library)
// after every connect before it reports itself ready.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/redis_url.hpp"
#include "common/redis/asio_adapter.hpp"
#include "common/redis/backoff.hpp"
#include "common/redis/reply.hpp"

namespace newspush::redis {

class RedisCommandClient {
 public:
  using Callback = std::function<void(const Reply& reply)>;
  // Runs after each connect; calls done(true) when the connection may serve commands, or
  // done(false, why) to drop it and retry later.
  using Setup = std::function<void(std::function<void(bool ok, std::string error)> done)>;

  struct Options {
    RedisEndpoint endpoint;
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds backoff_initial{100};
    std::chrono::milliseconds backoff_cap{5000};
    // A command without a reply for this long means the server hangs (or the network path died
    // without a reset): the connection is dropped, its commands fail, and it reconnects.
    std::chrono::milliseconds reply_timeout{10000};
  };

  // Every callback runs on `executor`, which must be single-threaded.
  RedisCommandClient(boost::asio::any_io_executor executor, Options options, Setup setup,
                     std::function<void(bool ready)> on_ready_change);
  ~RedisCommandClient();

  void start();
  void stop();
  // A failover moved the primary to `primary` ("HOST:PORT"): unless already connected there, the
  // connection is dropped (its waiting commands fail) and made again at once, asking the
  // sentinels anew.
  void follow_primary(const std::string& primary, const std::string& why);
  bool ready() const { return ready_; }
  const std::string& last_error() const { return last_error_; }

  // Runs a command. Not ready, or the connection lost before the reply: callback gets an error
  // reply; it is called exactly once (unless stop() comes first).
  void command(const std::vector<std::string>& argv, Callback callback);
  // For the setup step only: runs as soon as the connection is up, before it is ready.
  void setup_command(const std::vector<std::string>& argv, Callback callback);

 private:
  void connect();
  void on_connected();
  void on_closed(const std::string& error);
  void schedule_reconnect();
  void set_ready(bool ready);
  void send(bool allowed, const std::vector<std::string>& argv, Callback callback);
  void watch_replies();

  boost::asio::any_io_executor executor_;
  Options options_;
  Setup setup_;
  std::function<void(bool)> on_ready_change_;
  Backoff backoff_;
  boost::asio::steady_timer retry_timer_;
  std::shared_ptr<AsyncRedisConnection> connection_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool connected_ = false;
  bool ready_ = false;
  bool stopped_ = true;
  std::string last_error_;
  // Send times of the commands waiting for a reply, oldest first (Redis answers in order).
  std::deque<std::chrono::steady_clock::time_point> awaiting_;
  boost::asio::steady_timer reply_watchdog_;
  bool watchdog_armed_ = false;
  bool reconnect_at_once_ = false;  // the next reconnect skips the backoff (a followed failover)
};

}  // namespace newspush::redis

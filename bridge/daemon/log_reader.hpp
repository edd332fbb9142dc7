#pragma once
// Reads the history stream with a consumer group: creates the group (at the stream's end, `$`,
// on first start: a new bridge does not notify the whole retained history), XREADGROUP BLOCK on
// its own connection, XAUTOCLAIM of entries other consumers left idle past --claim-after, the
// idle time of the entries this bridge works on reset (XCLAIM JUSTID) so nobody steals them,
// lag from XINFO GROUPS, and gaps (entries trimmed before the group read them) logged and
// counted. Never stalls: Redis errors are retried after a second.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "bridge/daemon/dispatcher.hpp"
#include "bridge/daemon/metrics.hpp"
#include "common/redis/redis_command_client.hpp"

namespace newspush::bridge {

struct LogReaderOptions {
  std::string log_key;
  std::string group;
  std::string consumer;
  std::chrono::milliseconds claim_after{60000};
  std::size_t batch = 50;
  std::chrono::milliseconds block{1000};
};

class LogReader {
 public:
  LogReader(boost::asio::any_io_executor executor, redis::RedisCommandClient& commands,
            redis::RedisCommandClient& blocking, Dispatcher& dispatcher, BridgeMetrics& metrics,
            LogReaderOptions options);
  ~LogReader();
  void start();
  // No more reading or claiming (SIGTERM).
  void stop();
  bool group_ready() const { return group_ready_; }
  // The dispatcher has room again: read on if the reader was waiting for it.
  void resume();

 private:
  void ensure_group();
  void read();
  void on_read(const redis::Reply& reply);
  void claim();
  void inspect();
  // Lag, and whether the log was trimmed past the group's position; then `then`.
  void check_gap(std::function<void()> then);
  void retry_later(void (LogReader::*step)());
  void hand_over(const redis::Reply& entry, bool claimed);

  boost::asio::any_io_executor executor_;
  redis::RedisCommandClient& commands_;
  redis::RedisCommandClient& blocking_;
  Dispatcher& dispatcher_;
  BridgeMetrics& metrics_;
  LogReaderOptions options_;
  boost::asio::steady_timer claim_timer_;
  boost::asio::steady_timer inspect_timer_;
  bool group_ready_ = false;
  bool stopped_ = false;
  bool reading_ = false;
  bool waiting_for_room_ = false;
  std::string claim_cursor_ = "0-0";
  std::string last_gap_;  // the first entry's predecessor when a gap was last counted
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace newspush::bridge

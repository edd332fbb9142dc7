#pragma once
// The shared history in Redis (a stream plus the functions of redis/newspush.lua), seen from one
// node: atomic publish and retract, reads after a cursor, recent events. Lives on the control
// thread; post_read_after() may be called from any thread.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/auth/restricted_categories.hpp"
#include "server/history/replay_window.hpp"
#include "server/hub/event.hpp"
#include "common/redis/redis_command_client.hpp"

namespace newspush {

struct HistoryOptions {
  RedisEndpoint endpoint;
  std::string log_key = "news:log";
  std::string events_channel = "news:events";
  std::size_t max_length = 10000;
  std::chrono::seconds max_age{86400};
  std::size_t max_article = 256 * 1024;
  const auth::RestrictedCategories* restricted = nullptr;  // marks subscriber-only events
  std::chrono::milliseconds reply_timeout{10000};  // a command unanswered this long: reconnect
  // A publish or retract is acknowledged only once this many replicas confirmed it (WAIT),
  // within publish_replicas_timeout; else it fails with not_replicated. 0: no waiting.
  int publish_replicas = 0;
  std::chrono::milliseconds publish_replicas_timeout{1000};
};

// The error of a publish or retract that the replicas did not confirm in time; it was applied on
// the primary and may or may not survive a failover.
inline constexpr const char* kNotReplicatedPrefix = "ERR newspush: not_replicated: ";

struct HistoryRead {
  bool ok = false;            // false: Redis could not answer (error says why)
  std::string error;
  std::string reset_reason;   // set: the history cannot continue from that cursor
  std::string head;           // the newest cursor when read
  std::vector<EventPtr> events;
  std::size_t invalid = 0;    // entries that failed validation (skipped)
  std::size_t bytes = 0;      // of the events' frames
};

// The reset reason of a resume that would replay more than ReplayLimits allow.
inline constexpr const char* kReplayTooLong = "replay_too_long";

class History {
 public:
  using ReadCallback = std::function<void(HistoryRead)>;
  using ReplyCallback = std::function<void(const redis::Reply&)>;

  History(boost::asio::any_io_executor control, HistoryOptions options,
          std::function<void(bool ready)> on_ready_change);

  void start();
  void stop();
  // A failover moved the primary to `primary` ("HOST:PORT"): every connection goes there now.
  void follow_primary(const std::string& primary, const std::string& why);
  bool ready() const { return client_.ready(); }
  const std::string& last_error() const { return client_.last_error(); }
  const HistoryOptions& options() const { return options_; }

  // Every event after `cursor`, in order (empty cursor: just the head). Control thread.
  void read_after(const std::string& cursor, ReadCallback callback);
  // For one client, from any thread: the same, but past `limits` the answer is a reset with
  // kReplayTooLong (no events), and the history is read in small pages so that what one read
  // holds stays near the limits. The callback runs on `reply_to`.
  void post_read_after(std::string cursor, ReplayLimits limits,
                       boost::asio::any_io_executor reply_to, ReadCallback callback);
  // Newest first: the latest version of each live article of `category` ("*": all).
  void post_recent(std::string category, std::size_t limit, boost::asio::any_io_executor reply_to,
                   ReadCallback callback);
  // FCALL newspush_publish / newspush_retract, from any thread.
  void post_publish(std::string article_json, boost::asio::any_io_executor reply_to,
                    ReplyCallback callback);
  void post_retract(std::string id, boost::asio::any_io_executor reply_to, ReplyCallback callback);
  // FCALL <function> 1 <log key> <args...> on the shared command connection. Control thread.
  // Other parts of the functions library (trending) go through here.
  void call(const std::string& function, std::vector<std::string> args, ReplyCallback callback) {
    fcall(function, std::move(args), std::move(callback));
  }

 private:
  void setup(redis::RedisCommandClient& client, std::function<void(bool, std::string)> done);
  // FCALL of a write (publish, retract); with publish_replicas, on the publisher connection and
  // followed by WAIT.
  void replicated_write(const std::string& function, std::string argument, ReplyCallback callback);
  void read_page(std::shared_ptr<HistoryRead> result, std::string cursor,
                 std::optional<ReplayLimits> limits, ReadCallback callback);
  void fcall(const std::string& function, std::vector<std::string> args, ReplyCallback callback);
  void append_events(HistoryRead& result, const std::vector<redis::Reply>& elements,
                     std::size_t first);

  boost::asio::any_io_executor control_;
  HistoryOptions options_;
  redis::RedisCommandClient client_;
  // Only with publish_replicas: WAIT blocks its connection, so writes that wait for replicas get
  // their own, and the readers' commands never queue behind them.
  std::unique_ptr<redis::RedisCommandClient> publisher_;
};

}  // namespace newspush

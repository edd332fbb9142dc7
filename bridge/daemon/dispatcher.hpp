#pragma once
// Turns log entries into sends and acknowledges each entry once every send for it is settled
// (accepted, dead token removed, or rejected to the dead-letter stream). Per article a Job pages
// through the device sets (SSCAN of the category's set, "*"'s, and the breaking set for breaking
// news, each id sent once), skips devices that already accepted it (a Redis set per article, so a
// reclaimed entry does not notify twice), and queues sends per provider, bounded: a full queue
// stops both the paging and the reading of the log. Retries back off with jitter, honouring
// Retry-After. A provider with a rate limit gets its sends paced by a token bucket: the rest
// wait in its queue (still cancellable by a retraction) for a timer set to the next token. Everything on the bridge's one io_context thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bridge/daemon/device.hpp"
#include "bridge/daemon/metrics.hpp"
#include "bridge/daemon/provider.hpp"
#include "bridge/daemon/rate_limiter.hpp"
#include "common/redis/redis_command_client.hpp"

namespace newspush::bridge {

struct DispatcherOptions {
  DeviceKeys keys;
  std::string log_key;
  std::string group;
  std::size_t max_attempts = 8;
  std::size_t max_queue = 10000;
  std::size_t max_jobs = 64;
  std::size_t page = 500;
  std::chrono::seconds accepted_ttl{7 * 86400};
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_cap{60000};
  // Sends per second per provider (--fcm-rate ...); absent or 0: unlimited.
  std::map<Platform, std::size_t> rates;
  // --fcm-topics: each article also goes once to the FCM topic of its category (and to
  // "breaking" for breaking news), recorded in the accepted set as "/topics/NAME".
  bool fcm_topics = false;
};

class Dispatcher {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;

  Dispatcher(boost::asio::any_io_executor executor, redis::RedisCommandClient& redis,
             std::map<Platform, Provider*> providers, BridgeMetrics& metrics,
             DispatcherOptions options);
  ~Dispatcher();

  // One entry of the log, read or claimed. Entries already being handled here are ignored.
  void handle_entry(const std::string& entry_id, const Fields& fields);
  // Whether the log reader may hand over more entries.
  bool has_room() const;
  void on_room(std::function<void()> callback) { on_room_ = std::move(callback); }
  // Entry ids being worked on (their idle time is reset so no other bridge claims them).
  std::vector<std::string> active_entries() const;
  bool is_active(const std::string& entry_id) const { return jobs_.count(entry_id) > 0; }
  // SIGTERM: no new pages, queued sends dropped (the entry stays pending for another bridge),
  // in-flight sends answered and recorded, complete entries acknowledged; then `done`.
  void drain(std::function<void()> done);

 private:
  struct Job;
  struct Send {
    std::shared_ptr<Job> job;
    DeviceTarget device;
    std::size_t attempts = 0;
  };

  void fetch_page(const std::shared_ptr<Job>& job);
  void queue_topics(const std::shared_ptr<Job>& job);
  void on_page(const std::shared_ptr<Job>& job, std::string next_cursor,
               std::vector<std::string> ids);
  void filter_new(const std::shared_ptr<Job>& job, std::vector<std::string> ids, std::size_t key,
                  std::function<void(std::vector<std::string>)> done);
  void load_devices(const std::shared_ptr<Job>& job, std::vector<std::string> ids);
  void page_failed(const std::shared_ptr<Job>& job, const std::string& why);
  void enqueue(Send send);
  void pump();
  void on_result(Send send, SendResult result);
  void record_accepted(const std::shared_ptr<Job>& job, const std::string& device_id);
  void dead_letter(const Send& send, const SendResult& result, const std::string& reason);
  void settle(const std::shared_ptr<Job>& job);
  void maybe_complete(const std::shared_ptr<Job>& job);
  void acknowledge(const std::string& entry_id, bool skipped);
  void send_ack(const std::string& entry_id);
  void cancel_article(const std::string& article_id);
  void refill();
  // Whether `platform`'s bucket has a token now; if not, a timer pumps again when it has.
  bool take_token(Platform platform);
  void check_drained();

  boost::asio::any_io_executor executor_;
  redis::RedisCommandClient& redis_;
  std::map<Platform, Provider*> providers_;
  BridgeMetrics& metrics_;
  DispatcherOptions options_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // by entry id
  std::map<Platform, std::deque<Send>> queues_;
  std::size_t queued_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t retry_waiting_ = 0;
  std::vector<std::weak_ptr<boost::asio::steady_timer>> retry_timers_;
  struct Pacing {
    RateLimiter limiter;
    boost::asio::steady_timer timer;
    bool waiting = false;
  };
  std::map<Platform, std::unique_ptr<Pacing>> pacing_;  // only the rate-limited providers
  std::mt19937_64 random_{std::random_device{}()};
  std::function<void()> on_room_;
  bool draining_ = false;
  std::function<void()> drained_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace newspush::bridge

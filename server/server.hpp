#pragma once
// newspushd's wiring. The control thread (the one calling run()) owns the listener, the Redis
// subscriber and signal handling; it parses and serializes each article once and hands it to the
// hub, whose worker threads own the connections. Data flows one way: Redis -> hub -> sessions.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string_view>

#include "server/config.hpp"
#include "server/history/history.hpp"
#include "server/history/live_feed.hpp"
#include "server/history/recent_cache.hpp"
#include "server/hub/hub.hpp"
#include "server/log.hpp"
#include "server/redis/failover_watcher.hpp"
#include "server/redis/redis_subscriber.hpp"
#include "server/server_state.hpp"
#include "server/trending/trending_feed.hpp"
#include "server/trending/trending_leader.hpp"
#include "server/trending/view_recorder.hpp"

namespace newspush {

class Listener;

class Server {
 public:
  // Throws on start-up errors (address in use, ...).
  explicit Server(const Config& config);
  ~Server();
  // Serves until SIGTERM/SIGINT and the drain that follows; returns the exit code.
  int run();

 private:
  void on_message(std::string_view channel, std::string_view payload);
  void count_invalid(protocol::ArticleError error, const std::string& detail);
  void reset_clients(const std::string& reason, const std::string& head);
  // Keeps a delivered event in the replay window.
  void remember(const EventPtr& event);
  void on_caught_up(const std::string& head);
  // Learns the categories of the history's newest entries (once caught up: together with what
  // the feed delivers from then on, nothing recent is missed).
  void seed_known_categories();
  void on_redis_state(redis::SubscriberState state);
  void on_history_ready(bool ready);
  // A sentinel announced that our primary moved: every connection follows at once.
  void on_failover(const std::string& old_primary, const std::string& new_primary);
  void on_signal(int signal);
  // SIGHUP with --tls-cert: the certificate and key read again, for new connections.
  void wait_for_reload();
  void wait_for_drain(std::chrono::steady_clock::time_point deadline);
  void stop();

  Config config_;
  ServerState state_;
  // Declared before control_, so destroyed after it: handlers still queued on the control thread
  // (history replies, views) may own sessions, whose destructors reach into their worker.
  Hub hub_;
  boost::asio::io_context control_{1};
  std::shared_ptr<Listener> listener_;
  std::shared_ptr<Listener> admin_listener_;  // --admin-listen
  History history_;
  RecentCache recent_{history_};
  LiveFeed live_feed_;
  trending::ViewRecorder views_;
  trending::TrendingFeed trending_feed_;
  trending::TrendingLeader trending_leader_;
  redis::RedisSubscriber subscriber_;
  std::unique_ptr<redis::FailoverWatcher> failover_watcher_;  // sentinel mode only
  boost::asio::signal_set signals_;
  boost::asio::signal_set reload_signal_;  // SIGHUP, only with --tls-cert
  boost::asio::steady_timer drain_timer_;
  RateLimitedLog invalid_article_log_{10, std::chrono::seconds(10)};
};

}  // namespace newspush

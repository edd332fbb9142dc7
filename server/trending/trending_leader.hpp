#pragma once
// Computes the trending lists and publishes those that changed, on whichever node holds the lease
// in Redis. Every node ticks once per interval: the holder renews its lease and gets the stored
// rankings back in the same call; the others learn who leads and try again next time, so when
// the leader dies its lease runs out (3 intervals) and another node takes over.
// Lives on the control thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "server/auth/restricted_categories.hpp"
#include "server/history/history.hpp"
#include "server/metrics.hpp"
#include "server/trending/tick_reply.hpp"

namespace newspush::trending {

struct LeaderOptions {
  std::string node_id;
  std::string channel = "news:trending";
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds half_life{2 * 3600 * 1000};
  std::size_t size = 10;
  // Subscriber-only categories: their articles never rank in the overall list, which everyone
  // may read (their own lists go only to readers allowed them). Null or empty: none.
  const auth::RestrictedCategories* restricted = nullptr;
  std::chrono::milliseconds lease() const { return 3 * interval; }
};

class TrendingLeader {
 public:
  using WallClock = std::function<std::int64_t()>;  // Unix milliseconds

  TrendingLeader(boost::asio::any_io_executor control, History& history, Metrics& metrics,
                 LeaderOptions options, WallClock now_ms);

  void start();
  // The command connection just became usable: tick now rather than at the next interval, so a
  // fresh node learns at once who leads.
  void on_history_ready();
  // Stops ticking and, if this node leads, gives the lease up so another node takes over at its
  // next tick instead of waiting for the lease to run out.
  void stop();

 private:
  void schedule(std::chrono::milliseconds delay);
  void tick();
  void on_tick(const redis::Reply& reply);
  void publish_changes(const TickReply& tick, std::int64_t now_ms);
  bool hides_restricted() const;
  // Entries asked of Redis per list: more than a list holds when some must be left out.
  std::size_t entries_read() const;
  void set_leader(bool leader, const std::string& holder);

  boost::asio::any_io_executor control_;
  History& history_;
  Metrics& metrics_;
  LeaderOptions options_;
  WallClock now_ms_;
  boost::asio::steady_timer timer_;
  bool leader_ = false;
  bool stopped_ = true;
  bool in_flight_ = false;
};

}  // namespace newspush::trending

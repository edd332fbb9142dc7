#pragma once
// Adds reader views to the shared rankings in Redis (FCALL newspush_view). Views from WebSocket
// clients are batched: one Redis call carries many. Lives on the control thread; the post_*
// entry points may be called from any thread.
//
// The weight of a view depends on the decay base stored in Redis, which the leader moves now and
// then; a call made with an outdated base is refused by Redis and made again with the new one.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/history/history.hpp"
#include "server/metrics.hpp"
#include "server/trending/decay.hpp"

namespace newspush::trending {

struct ViewCounts {
  bool ok = false;
  std::string error;
  std::size_t counted = 0;
  std::size_t unknown = 0;
};

class ViewRecorder {
 public:
  using Done = std::function<void(ViewCounts)>;
  using WallClock = std::function<std::int64_t()>;  // Unix milliseconds

  static constexpr std::size_t kMaxIdsPerCall = 1000;
  // Views waiting for Redis beyond this are dropped (and counted): Redis being away must not
  // grow memory.
  static constexpr std::size_t kMaxPending = 10000;

  ViewRecorder(boost::asio::any_io_executor control, History& history, Metrics& metrics,
               std::chrono::milliseconds half_life, WallClock now_ms);

  // One view from a WebSocket client: sent with others within kBatchDelay.
  void post_view(std::string article_id);
  // A batch from the HTTP API, sent at once; `done` runs on `reply_to` with the counts.
  void post_views(std::vector<std::string> article_ids, boost::asio::any_io_executor reply_to,
                  Done done);
  void stop();

 private:
  static constexpr auto kBatchDelay = std::chrono::milliseconds(100);

  void flush();
  // Sends ids (at most kMaxIdsPerCall), learning the base first when needed.
  void submit(std::vector<std::string> ids, Done done, int attempts_left);
  void send(std::vector<std::string> ids, Done done, int attempts_left);
  void count(const ViewCounts& counts, std::size_t sent);

  boost::asio::any_io_executor control_;
  History& history_;
  Metrics& metrics_;
  std::chrono::milliseconds half_life_;
  WallClock now_ms_;
  std::optional<DecayBase> base_;
  std::vector<std::string> pending_;
  boost::asio::steady_timer flush_timer_;
  bool flush_scheduled_ = false;
};

}  // namespace newspush::trending

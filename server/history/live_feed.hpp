#pragma once
// Keeps what this node delivers gap-free and duplicate-free across Redis outages: live events
// carry cursors; after every (re)subscription the node reads the history after the last cursor it
// delivered, delivers what it missed, then the live events it held meanwhile, skipping any it has
// already delivered. Control thread only.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/history/history.hpp"
#include "server/hub/event.hpp"

namespace newspush {

class LiveFeed {
 public:
  using ReadAfter = std::function<void(const std::string& cursor, History::ReadCallback)>;
  struct Handlers {
    std::function<void(EventPtr)> deliver;
    // The history cannot continue from what this node delivered (Redis lost its data, or the
    // outage outlasted the retention): clients must be told.
    std::function<void(const std::string& reason, const std::string& head)> reset;
    // A catch-up finished: the newest cursor this node stands at (events carry theirs).
    std::function<void(const std::string& head)> caught_up;
    std::function<void(const std::string& message)> log;
  };

  LiveFeed(boost::asio::any_io_executor executor, ReadAfter read_after, Handlers handlers);

  // An event from the live subscription, in publish order.
  void on_event(EventPtr event);
  // The subscription was (re)established: catch up before going live again.
  void on_subscribed();
  // The history just became readable: retry a pending catch-up now rather than later.
  void retry_now();
  // Stop retrying (shutdown).
  void stop();

  bool catching_up() const { return catching_up_; }
  std::size_t duplicates_dropped() const { return duplicates_; }

 private:
  void read_missed();
  void on_read(std::uint64_t generation, HistoryRead read);
  void deliver_if_new(const EventPtr& event);

  boost::asio::any_io_executor executor_;
  ReadAfter read_after_;
  Handlers handlers_;
  boost::asio::steady_timer retry_timer_;
  std::optional<protocol::Cursor> last_;  // newest cursor delivered (or caught up to)
  bool catching_up_ = false;
  std::uint64_t generation_ = 0;
  std::vector<EventPtr> held_;  // live events that arrived during a catch-up
  std::size_t duplicates_ = 0;
};

}  // namespace newspush

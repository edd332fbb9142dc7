#pragma once
// Keeps what this node delivers gap-free and duplicate-free across Redis outages: live events
// carry cursors; after every (re)subscription the node reads the history after the last cursor it
// delivered, delivers what it missed, then the live events it held meanwhile, skipping any it has
// already delivered. What it holds is bounded in bytes: past the bound it drops the held events
// but keeps its position, and reads them again from the history (or, if the history no longer
// has them, resets its clients). Control thread only.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/history/history.hpp"
#include "server/hub/event.hpp"
#include "server/log.hpp"

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
    // What an operator should hear of (an event for log_event, with its fields).
    std::function<void(LogLevel, std::string_view event, LogFields)> log;
    // The live events held during a catch-up passed the bound and were dropped (to be read again).
    std::function<void()> overflow;
  };

  // Enough for the live events of a normal catch-up (one history read: milliseconds to seconds of
  // publishing) with room to spare, and small enough that a long outage under heavy publishing
  // costs the control thread a bounded amount of memory: past it, dropping only costs a re-read.
  static constexpr std::size_t kDefaultMaxHeldBytes = 64 * 1024 * 1024;

  LiveFeed(boost::asio::any_io_executor executor, ReadAfter read_after, Handlers handlers,
           std::size_t max_held_bytes = kDefaultMaxHeldBytes);

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
  std::size_t held_overflows() const { return overflows_; }

 private:
  void read_missed();
  void on_read(std::uint64_t generation, HistoryRead read);
  void deliver_if_new(const EventPtr& event);
  void drop_held();

  boost::asio::any_io_executor executor_;
  ReadAfter read_after_;
  Handlers handlers_;
  boost::asio::steady_timer retry_timer_;
  std::optional<protocol::Cursor> last_;  // newest cursor delivered (or caught up to)
  bool catching_up_ = false;
  std::uint64_t generation_ = 0;
  std::vector<EventPtr> held_;  // live events that arrived during a catch-up
  std::size_t held_bytes_ = 0;
  std::size_t max_held_bytes_;
  // Held events were dropped after the pending read was sent: it may stop short of them.
  bool dropped_since_read_ = false;
  bool overflow_logged_ = false;  // in this catch-up
  std::size_t duplicates_ = 0;
  std::size_t overflows_ = 0;
};

}  // namespace newspush

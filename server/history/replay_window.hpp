#pragma once
// The newest events this node delivered, in history order with no gap, already serialized: a
// client resuming from a recent cursor is served from here on its own worker thread, without
// asking Redis and without parsing anything again; only older cursors go to the history.
// Bounded in bytes (the oldest events leave first). Appended to by the control thread (what
// LiveFeed delivers, before the hub fans it out), read by the workers: one mutex, held for a
// binary search and for copying the pointers one replay sends. It keeps no more than the history
// retains (by count and age), so a cursor gets the same answer on every node.
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "protocol/cursor.hpp"
#include "server/hub/event.hpp"

namespace newspush {

// What one resume may cost, wherever it is served from: past either, the client gets `reset`.
struct ReplayLimits {
  std::size_t max_events = 5000;             // events of the history after the cursor
  std::size_t max_bytes = 8 * 1024 * 1024;   // bytes of those events
};

class ReplayWindow {
 public:
  struct Bounds {
    std::size_t max_bytes = 32 * 1024 * 1024;
    std::size_t max_events = 10000;            // the history's --history-max-length
    std::chrono::seconds max_age{86400};       // and its --history-max-age
  };
  explicit ReplayWindow(Bounds bounds) : bounds_(bounds) {}

  // Control thread, in delivery order. Events without a cursor (bare PUBLISH) are not history.
  void append(const EventPtr& event);
  // Control thread: the feed caught up and stands at `position`; an empty window starts there.
  void stand_at(const protocol::Cursor& position);
  // Control thread: the history was reset; nothing held continues it.
  void clear();

  enum class Outcome { replayed, not_held, too_long };
  struct Replay {
    Outcome outcome = Outcome::not_held;
    std::vector<EventPtr> events;           // the ones `wanted` accepted, in order
    std::optional<protocol::Cursor> up_to;  // the newest event held (replayed, too_long)
  };
  // Any thread. Everything after `since` that `wanted` accepts, when the window holds all of the
  // history after `since` (not_held: older than the window, from another epoch, or ahead of this
  // node). `limits` count every event after `since`, wanted or not: that is the work done.
  Replay after(const protocol::Cursor& since, const ReplayLimits& limits,
               const std::function<bool(const ArticleEvent&)>& wanted) const;

  // Any thread. Whether after() would find `since` held now (not not_held); a cheap check, so
  // that a resume knows before it answers whether it will read Redis.
  bool holds(const protocol::Cursor& since) const;

  std::size_t bytes() const;
  std::size_t size() const;

 private:
  bool holds_locked(const protocol::Cursor& since) const;
  void evict_past_bounds(std::chrono::steady_clock::time_point now);

  mutable std::mutex mutex_;
  std::deque<EventPtr> events_;
  // The window holds every event after this position, up to its newest; none: nothing held yet.
  std::optional<protocol::Cursor> floor_;
  std::size_t bytes_ = 0;
  Bounds bounds_;
};

}  // namespace newspush

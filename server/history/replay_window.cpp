#include "server/history/replay_window.hpp"

#include <algorithm>

namespace newspush {

namespace {
std::size_t cost(const ArticleEvent& event) {
  return sizeof(ArticleEvent) + event.frame.size() + event.sse_frame.size();
}
}  // namespace

void ReplayWindow::append(const EventPtr& event) {
  if (!event->cursor) return;
  std::lock_guard lock(mutex_);
  if (!floor_ || floor_->epoch != event->cursor->epoch) {
    // Nothing known before this event (first start, after a reset, a new history): it becomes
    // the floor, and only what follows it can be replayed from here.
    events_.clear();
    bytes_ = 0;
    floor_ = event->cursor;
    return;
  }
  events_.push_back(event);
  bytes_ += cost(*event);
  evict_past_bounds(std::chrono::steady_clock::now());
}

void ReplayWindow::evict_past_bounds(std::chrono::steady_clock::time_point now) {
  while (!events_.empty() &&
         (bytes_ > bounds_.max_bytes || events_.size() > bounds_.max_events ||
          now - events_.front()->received > bounds_.max_age)) {
    floor_ = events_.front()->cursor;
    bytes_ -= cost(*events_.front());
    events_.pop_front();
  }
}

void ReplayWindow::stand_at(const protocol::Cursor& position) {
  std::lock_guard lock(mutex_);
  if (!events_.empty() && *events_.back()->cursor == position) return;
  if (events_.empty() && floor_ == position) return;
  // Not where the window ends: what it holds does not lead here without a gap.
  events_.clear();
  bytes_ = 0;
  floor_ = position;
}

void ReplayWindow::clear() {
  std::lock_guard lock(mutex_);
  events_.clear();
  bytes_ = 0;
  floor_.reset();
}

ReplayWindow::Replay ReplayWindow::after(const protocol::Cursor& since, const ReplayLimits& limits,
                                         const std::function<bool(const ArticleEvent&)>& wanted) const {
  Replay replay;
  std::lock_guard lock(mutex_);
  if (!holds_locked(since)) return replay;
  const protocol::Cursor& newest = events_.empty() ? *floor_ : *events_.back()->cursor;
  auto first = std::partition_point(events_.begin(), events_.end(), [&since](const EventPtr& e) {
    return !e->cursor->is_after(since);
  });
  replay.up_to = newest;
  if (static_cast<std::size_t>(events_.end() - first) > limits.max_events) {
    replay.outcome = Outcome::too_long;
    return replay;
  }
  std::size_t bytes = 0;
  for (auto it = first; it != events_.end(); ++it) {
    bytes += (*it)->frame.size();
    if (bytes > limits.max_bytes) {
      replay.outcome = Outcome::too_long;
      replay.events.clear();
      return replay;
    }
    if (wanted(**it)) replay.events.push_back(*it);
  }
  replay.outcome = Outcome::replayed;
  return replay;
}

bool ReplayWindow::holds(const protocol::Cursor& since) const {
  std::lock_guard lock(mutex_);
  return holds_locked(since);
}

bool ReplayWindow::holds_locked(const protocol::Cursor& since) const {
  if (!floor_ || floor_->epoch != since.epoch || floor_->is_after(since)) return false;
  const protocol::Cursor& newest = events_.empty() ? *floor_ : *events_.back()->cursor;
  return !since.is_after(newest);  // else this node has not seen that far yet
}

std::size_t ReplayWindow::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

std::size_t ReplayWindow::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

}  // namespace newspush

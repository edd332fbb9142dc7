#include "server/history/live_feed.hpp"

namespace newspush {

namespace {
// A catch-up that cannot reach the history retries soon: live events are held meanwhile.
constexpr auto kRetryDelay = std::chrono::milliseconds(250);

// What an event held costs: its frame dominates; the rest is counted so that tiny events still
// add up.
std::size_t held_size(const ArticleEvent& event) {
  return sizeof(ArticleEvent) + event.frame.size() + event.sse_frame.size() + event.category.size();
}
}  // namespace

LiveFeed::LiveFeed(boost::asio::any_io_executor executor, ReadAfter read_after, Handlers handlers,
                   std::size_t max_held_bytes)
    : executor_(executor),
      read_after_(std::move(read_after)),
      handlers_(std::move(handlers)),
      retry_timer_(executor),
      max_held_bytes_(max_held_bytes) {}

void LiveFeed::on_event(EventPtr event) {
  if (!event->cursor) {
    // A bare PUBLISH: not part of the history, nothing to order it against.
    handlers_.deliver(std::move(event));
    return;
  }
  if (catching_up_) {
    auto size = held_size(*event);
    // At least one event is always held: a single article larger than the bound is bounded by
    // --max-article already.
    if (!held_.empty() && held_bytes_ + size > max_held_bytes_) drop_held();
    held_bytes_ += size;
    held_.push_back(std::move(event));
    return;
  }
  deliver_if_new(event);
}

void LiveFeed::drop_held() {
  ++overflows_;
  if (handlers_.overflow) handlers_.overflow();
  if (!last_) {
    // No position yet (first start): nothing read from the history can precede these, they would
    // all be delivered at the end of the catch-up, so deliver them now instead of losing them.
    for (const auto& event : held_) deliver_if_new(event);
  } else {
    // Every held event is in the stream already (announced after it was appended), so the
    // position is enough to read them again; keeping it is what makes dropping safe.
    dropped_since_read_ = true;
    if (handlers_.log && !overflow_logged_)
      handlers_.log(LogLevel::warn, "catchup.overflow",
                    {{"held_events", held_.size()},
                     {"held_bytes", held_bytes_},
                     {"bound_bytes", max_held_bytes_},
                     {"rereading_after", protocol::to_string(*last_)}});
    overflow_logged_ = true;
  }
  held_.clear();
  held_bytes_ = 0;
}

void LiveFeed::deliver_if_new(const EventPtr& event) {
  // Another epoch means a new history: its events are new by definition.
  if (last_ && event->cursor->is_at_or_before(*last_)) {
    ++duplicates_;
    return;
  }
  last_ = event->cursor;
  handlers_.deliver(event);
}

void LiveFeed::on_subscribed() {
  catching_up_ = true;
  overflow_logged_ = false;
  ++generation_;
  retry_timer_.cancel();
  read_missed();
}

void LiveFeed::retry_now() {
  if (!catching_up_) return;
  ++generation_;
  retry_timer_.cancel();
  read_missed();
}

void LiveFeed::stop() {
  ++generation_;
  retry_timer_.cancel();
}

void LiveFeed::read_missed() {
  auto generation = generation_;
  // This read is sent after every drop so far: it covers them.
  dropped_since_read_ = false;
  std::string from = last_ ? protocol::to_string(*last_) : std::string();
  read_after_(from, [this, generation](HistoryRead read) { on_read(generation, std::move(read)); });
}

void LiveFeed::on_read(std::uint64_t generation, HistoryRead read) {
  if (generation != generation_) return;  // superseded by a newer subscription
  if (!read.ok) {
    if (handlers_.log)
      handlers_.log(LogLevel::warn, "history.unreadable",
                    {{"error", read.error}, {"retrying", true}});
    retry_timer_.expires_after(kRetryDelay);
    retry_timer_.async_wait([this, generation](boost::system::error_code ec) {
      if (!ec && generation == generation_) read_missed();
    });
    return;
  }
  bool had_position = last_.has_value();
  if (!read.reset_reason.empty()) {
    if (handlers_.log)
      handlers_.log(LogLevel::warn, "history.reset", {{"reason", read.reset_reason}});
    handlers_.reset(read.reset_reason, read.head);
    last_.reset();
    had_position = false;
  }
  for (const auto& event : read.events) deliver_if_new(event);
  if (dropped_since_read_) {
    // Live events were dropped while this read was under way: the newest of them may lie past
    // what it returned. Read on from what was delivered rather than go live over a gap; after a
    // reset, from the head the clients were just told to continue from.
    if (!last_) last_ = protocol::parse_cursor(read.head);
    if (last_) {
      read_missed();
      return;
    }
    // A reset with no head (the history was wiped and not yet recreated): the clients were
    // told, there is nothing to read after; what is still held follows.
    dropped_since_read_ = false;
  }
  if (!had_position) {
    // First start or after a reset: everything held arrived after the subscription, so all of it
    // is new; the head is where an idle node stands.
    if (auto head = protocol::parse_cursor(read.head); head && (!last_ || head->is_after(*last_)) &&
                                                         held_.empty())
      last_ = head;
  }
  auto held = std::move(held_);
  held_.clear();
  held_bytes_ = 0;
  for (const auto& event : held) deliver_if_new(event);
  if (!last_) last_ = protocol::parse_cursor(read.head);
  catching_up_ = false;
  if (handlers_.caught_up) handlers_.caught_up(last_ ? protocol::to_string(*last_) : read.head);
}

}  // namespace newspush

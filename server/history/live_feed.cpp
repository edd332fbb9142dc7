#include "server/history/live_feed.hpp"

namespace newspush {

namespace {
// A catch-up that cannot reach the history retries soon: live events are held meanwhile.
constexpr auto kRetryDelay = std::chrono::milliseconds(250);
// Bounds what is held while the history cannot be read; past it the oldest are dropped and the
// clients will be told through a reset.
constexpr std::size_t kMaxHeld = 100000;
}  // namespace

LiveFeed::LiveFeed(boost::asio::any_io_executor executor, ReadAfter read_after, Handlers handlers)
    : executor_(executor),
      read_after_(std::move(read_after)),
      handlers_(std::move(handlers)),
      retry_timer_(executor) {}

void LiveFeed::on_event(EventPtr event) {
  if (!event->cursor) {
    // A bare PUBLISH: not part of the history, nothing to order it against.
    handlers_.deliver(std::move(event));
    return;
  }
  if (catching_up_) {
    if (held_.size() >= kMaxHeld) {
      held_.clear();
      last_.reset();  // forces a reset once the history answers
    }
    held_.push_back(std::move(event));
    return;
  }
  deliver_if_new(event);
}

void LiveFeed::deliver_if_new(const EventPtr& event) {
  // Another epoch means a new history: its events are new by definition.
  if (last_ && last_->epoch == event->cursor->epoch && !event->cursor->is_after(*last_)) {
    ++duplicates_;
    return;
  }
  last_ = event->cursor;
  handlers_.deliver(event);
}

void LiveFeed::on_subscribed() {
  catching_up_ = true;
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
  std::string from = last_ ? protocol::to_string(*last_) : std::string();
  read_after_(from, [this, generation](HistoryRead read) { on_read(generation, std::move(read)); });
}

void LiveFeed::on_read(std::uint64_t generation, HistoryRead read) {
  if (generation != generation_) return;  // superseded by a newer subscription
  if (!read.ok) {
    if (handlers_.log) handlers_.log("history not readable yet (" + read.error + "); retrying");
    retry_timer_.expires_after(kRetryDelay);
    retry_timer_.async_wait([this, generation](boost::system::error_code ec) {
      if (!ec && generation == generation_) read_missed();
    });
    return;
  }
  bool had_position = last_.has_value();
  if (!read.reset_reason.empty()) {
    if (handlers_.log) handlers_.log("history reset (" + read.reset_reason + "): telling clients");
    handlers_.reset(read.reset_reason, read.head);
    last_.reset();
    had_position = false;
  }
  for (const auto& event : read.events) deliver_if_new(event);
  if (!had_position) {
    // First start or after a reset: everything held arrived after the subscription, so all of it
    // is new; the head is where an idle node stands.
    if (auto head = protocol::parse_cursor(read.head); head && (!last_ || head->is_after(*last_)) &&
                                                         held_.empty())
      last_ = head;
  }
  auto held = std::move(held_);
  held_.clear();
  for (const auto& event : held) deliver_if_new(event);
  if (!last_) last_ = protocol::parse_cursor(read.head);
  catching_up_ = false;
  if (handlers_.caught_up) handlers_.caught_up(last_ ? protocol::to_string(*last_) : read.head);
}

}  // namespace newspush

#include "server/trending/trending_feed.hpp"

#include "server/log.hpp"
#include "server/trending/payload.hpp"

namespace newspush::trending {

using redis::Reply;

TrendingFeed::TrendingFeed(History& history, Metrics& metrics, Deliver deliver)
    : history_(history), metrics_(metrics), deliver_(std::move(deliver)) {}

void TrendingFeed::on_message(std::string_view payload) {
  metrics_.trending_lists_received.fetch_add(1, std::memory_order_relaxed);
  apply(payload, true);
}

void TrendingFeed::load_current() {
  if (loading_ || !history_.ready()) return;
  loading_ = true;
  history_.call("newspush_trending_current", {}, [this](const Reply& reply) {
    loading_ = false;
    if (reply.is_error() || reply.type != Reply::Type::array) {
      log_event(LogLevel::warn, "trending.load_failed",
                {{"error", reply.is_error() ? reply.text : std::string("unexpected reply")}});
      return;
    }
    for (const auto& element : reply.elements) apply(element.text, false);
  });
}

void TrendingFeed::apply(std::string_view payload, bool from_channel) {
  auto parsed = parse_payload(payload);
  if (!parsed) {
    malformed_log_.log_event(LogLevel::warn, "trending.malformed_list",
                             {{"bytes", payload.size()}});
    return;
  }
  auto [it, first] = newest_seq_.try_emplace(parsed->category, parsed->seq);
  if (!first) {
    // A Redis that lost its data counts from 1 again: the channel is still right.
    if (!from_channel && parsed->seq <= it->second) return;
    it->second = parsed->seq;
  }
  auto update = std::make_shared<TrendingUpdate>();
  update->category = std::move(parsed->category);
  update->set_frames(std::move(parsed->frame));
  deliver_(std::move(update));
}

}  // namespace newspush::trending

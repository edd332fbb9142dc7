#include "server/trending/trending_leader.hpp"

#include "protocol/category.hpp"

#include <cstdio>

#include "protocol/trending.hpp"
#include "server/log.hpp"

namespace newspush::trending {

namespace asio = boost::asio;
using redis::Reply;

TrendingLeader::TrendingLeader(asio::any_io_executor control, History& history, Metrics& metrics,
                               LeaderOptions options, WallClock now_ms)
    : control_(control),
      history_(history),
      metrics_(metrics),
      options_(std::move(options)),
      now_ms_(std::move(now_ms)),
      timer_(control) {}

void TrendingLeader::start() {
  stopped_ = false;
  schedule(std::chrono::milliseconds(0));
}

void TrendingLeader::on_history_ready() {
  if (!stopped_) schedule(std::chrono::milliseconds(0));
}

void TrendingLeader::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  if (!leader_) return;
  set_leader(false, {});
  history_.call("newspush_trending_release", {options_.node_id}, [](const Reply& reply) {
    if (reply.is_error())
      log_event(LogLevel::debug, "trending.release_failed", {{"error", reply.text}});
  });
}

void TrendingLeader::schedule(std::chrono::milliseconds delay) {
  timer_.expires_after(delay);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    tick();
  });
}

void TrendingLeader::tick() {
  schedule(options_.interval);
  // A slow Redis must not pile ticks up: the next one waits for this one's answer.
  if (in_flight_ || !history_.ready()) return;
  in_flight_ = true;
  history_.call("newspush_trending_tick",
                {options_.node_id, std::to_string(options_.lease().count()),
                 std::to_string(entries_read())},
                [this](const Reply& reply) {
                  in_flight_ = false;
                  if (!stopped_) on_tick(reply);
                });
}

void TrendingLeader::on_tick(const Reply& reply) {
  std::string error;
  auto tick = parse_tick_reply(reply, error);
  if (!tick) {
    // Cannot tell whether the lease is still ours: act as a follower until a tick says so.
    set_leader(false, {});
    log_event(LogLevel::warn, "trending.tick_failed", {{"error", error}});
    return;
  }
  set_leader(tick->leader, tick->holder);
  if (!tick->leader) return;
  std::int64_t now = now_ms_();
  if (!tick->has_base) {
    // A fresh Redis: create the base so the rankings can be read at the next tick.
    history_.call("newspush_trending_base",
                  {std::to_string(options_.half_life.count()), std::to_string(now)},
                  [](const Reply& r) {
                    if (r.is_error())
                      log_event(LogLevel::warn, "trending.base_failed", {{"error", r.text}});
                  });
    return;
  }
  if (auto rebase = plan_rebase(tick->base, now, options_.half_life.count())) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%.17g", rebase->factor);
    history_.call("newspush_trending_rebase",
                  {options_.node_id, std::to_string(tick->base.t0_ms),
                   std::to_string(rebase->base.t0_ms), std::to_string(rebase->base.half_life_ms),
                   factor},
                  [](const Reply& r) {
                    if (r.is_error())
                      log_event(LogLevel::warn, "trending.rebase_failed", {{"error", r.text}});
                    else log_event(LogLevel::info, "trending.rebased");
                  });
    return;  // the next tick ranks on the new base
  }
  publish_changes(*tick, now);
}

bool TrendingLeader::hides_restricted() const {
  return options_.restricted && options_.restricted->any();
}

std::size_t TrendingLeader::entries_read() const {
  // The overall list leaves subscriber-only articles out: read enough to fill it after that.
  constexpr std::size_t kMostRedisGives = 100;
  return hides_restricted() ? std::min(options_.size * 4, std::max(options_.size, kMostRedisGives))
                            : options_.size;
}

void TrendingLeader::publish_changes(const TickReply& tick, std::int64_t now_ms) {
  std::vector<std::string> args{options_.node_id, options_.channel};
  std::size_t lists = 0;
  for (const auto& stored : tick.rankings) {
    protocol::TrendingList list;
    list.category = stored.category;
    list.items = rank(stored.entries, tick.base, now_ms);
    if (list.category == protocol::kAllCategories && hides_restricted())
      std::erase_if(list.items, [this](const protocol::TrendingItem& item) {
        return options_.restricted->restricted(item.category);
      });
    if (list.items.size() > options_.size) list.items.resize(options_.size);
    auto sig = signature(list.items);
    if (sig == stored.stored_signature) continue;
    list.at_ms = now_ms;
    args.push_back(stored.category);
    args.push_back(std::move(sig));
    args.push_back(protocol::trending_message(list));
    ++lists;
  }
  if (lists == 0) return;
  history_.call("newspush_trending_publish", std::move(args), [this, lists](const Reply& reply) {
    if (reply.is_error()) {
      log_event(LogLevel::warn, "trending.publish_failed", {{"error", reply.text}});
      return;
    }
    metrics_.trending_lists_published.fetch_add(lists, std::memory_order_relaxed);
  });
}

void TrendingLeader::set_leader(bool leader, const std::string& holder) {
  if (leader == leader_) return;
  leader_ = leader;
  metrics_.trending_leader.store(leader ? 1 : 0);
  // leader: this node now computes the rankings; follower: another one (holder) does.
  if (leader) log_event(LogLevel::info, "trending.leader", {{"node", options_.node_id}});
  else log_event(LogLevel::info, "trending.follower", {{"holder", holder}});
}

}  // namespace newspush::trending

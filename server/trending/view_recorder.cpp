#include "server/trending/view_recorder.hpp"

#include <boost/asio/post.hpp>
#include <cstdio>

#include "server/log.hpp"

namespace newspush::trending {

namespace asio = boost::asio;
using redis::Reply;

namespace {

// Enough digits that the weight Redis adds is the weight computed here.
std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

bool to_int64(const Reply& r, std::int64_t& out) {
  if (r.type == Reply::Type::integer) {
    out = r.integer;
    return true;
  }
  if (r.type != Reply::Type::string || r.text.empty()) return false;
  char* end = nullptr;
  out = std::strtoll(r.text.c_str(), &end, 10);
  return end == r.text.c_str() + r.text.size();
}

std::optional<DecayBase> base_from(const Reply& t0, const Reply& half_life) {
  DecayBase base;
  if (!to_int64(t0, base.t0_ms) || !to_int64(half_life, base.half_life_ms) ||
      base.half_life_ms <= 0)
    return std::nullopt;
  return base;
}

}  // namespace

ViewRecorder::ViewRecorder(asio::any_io_executor control, History& history, Metrics& metrics,
                           std::chrono::milliseconds half_life, WallClock now_ms)
    : control_(control),
      history_(history),
      metrics_(metrics),
      half_life_(half_life),
      now_ms_(std::move(now_ms)),
      flush_timer_(control) {}

void ViewRecorder::post_view(std::string article_id) {
  asio::post(control_, [this, id = std::move(article_id)]() mutable {
    if (pending_.size() >= kMaxPending) {
      metrics_.count_views(ViewResult::dropped);
      return;
    }
    pending_.push_back(std::move(id));
    if (pending_.size() >= kMaxIdsPerCall) {
      flush();
      return;
    }
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    flush_timer_.expires_after(kBatchDelay);
    flush_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      flush();
    });
  });
}

void ViewRecorder::post_views(std::vector<std::string> article_ids, asio::any_io_executor reply_to,
                              Done done) {
  asio::post(control_, [this, ids = std::move(article_ids), reply_to, done]() mutable {
    submit(std::move(ids), [reply_to, done](ViewCounts counts) {
      asio::post(reply_to, [done, counts = std::move(counts)]() mutable { done(std::move(counts)); });
    }, 2);
  });
}

void ViewRecorder::stop() {
  flush_timer_.cancel();
  flush_scheduled_ = false;
}

void ViewRecorder::flush() {
  flush_scheduled_ = false;
  flush_timer_.cancel();
  while (!pending_.empty()) {
    std::size_t n = std::min(pending_.size(), kMaxIdsPerCall);
    std::vector<std::string> batch(std::make_move_iterator(pending_.begin()),
                                   std::make_move_iterator(pending_.begin() + n));
    pending_.erase(pending_.begin(), pending_.begin() + n);
    submit(std::move(batch), [](ViewCounts) {}, 2);
  }
}

void ViewRecorder::submit(std::vector<std::string> ids, Done done, int attempts_left) {
  if (ids.empty()) return done(ViewCounts{true, {}, 0, 0});
  if (base_) return send(std::move(ids), std::move(done), attempts_left);
  // Creates the base on a fresh Redis; otherwise just reads it.
  history_.call("newspush_trending_base",
                {std::to_string(half_life_.count()), std::to_string(now_ms_())},
                [this, ids = std::move(ids), done, attempts_left](const Reply& reply) mutable {
                  if (!reply.is_error() && reply.type == Reply::Type::array &&
                      reply.elements.size() == 2)
                    base_ = base_from(reply.elements[0], reply.elements[1]);
                  if (!base_) {
                    ViewCounts failed;
                    failed.error = reply.is_error() ? reply.text : "unexpected reply to newspush_trending_base";
                    count(failed, ids.size());
                    return done(std::move(failed));
                  }
                  send(std::move(ids), std::move(done), attempts_left);
                });
}

void ViewRecorder::send(std::vector<std::string> ids, Done done, int attempts_left) {
  std::vector<std::string> args{std::to_string(base_->t0_ms),
                                number_text(view_weight(*base_, now_ms_()))};
  std::size_t sent = ids.size();
  args.insert(args.end(), ids.begin(), ids.end());
  history_.call("newspush_view", std::move(args),
                [this, ids = std::move(ids), done, attempts_left, sent](const Reply& reply) mutable {
                  ViewCounts counts;
                  const auto& e = reply.elements;
                  if (!reply.is_error() && reply.type == Reply::Type::array && e.size() == 3 &&
                      e[0].text == "rebased") {
                    // The leader moved the base since we learned it: weigh again and resend.
                    base_ = base_from(e[1], e[2]);
                    if (attempts_left > 0) return submit(std::move(ids), std::move(done), attempts_left - 1);
                    counts.error = "the trending base kept moving";
                  } else if (!reply.is_error() && reply.type == Reply::Type::array &&
                             e.size() == 3 && e[0].text == "ok") {
                    std::int64_t counted = 0, unknown = 0;
                    counts.ok = to_int64(e[1], counted) && to_int64(e[2], unknown);
                    counts.counted = static_cast<std::size_t>(counted);
                    counts.unknown = static_cast<std::size_t>(unknown);
                    if (!counts.ok) counts.error = "unexpected counts from newspush_view";
                  } else {
                    counts.error = reply.is_error() ? reply.text : "unexpected reply to newspush_view";
                  }
                  count(counts, sent);
                  done(std::move(counts));
                });
}

void ViewRecorder::count(const ViewCounts& counts, std::size_t sent) {
  if (!counts.ok) {
    metrics_.count_views(ViewResult::dropped, sent);
    log_event(LogLevel::debug, "views.dropped", {{"views", sent}, {"error", counts.error}});
    return;
  }
  metrics_.count_views(ViewResult::counted, counts.counted);
  metrics_.count_views(ViewResult::unknown, counts.unknown);
}

}  // namespace newspush::trending

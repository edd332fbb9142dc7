#include "server/metrics.hpp"

#include "protocol/category.hpp"
#include "server/auth/token_verifier.hpp"
#include "server/history/known_categories.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <cstdio>

namespace newspush {

std::string_view to_string(CloseCause cause) {
  switch (cause) {
    case CloseCause::client: return "client";
    case CloseCause::slow_consumer: return "slow_consumer";
    case CloseCause::shutdown: return "shutdown";
    case CloseCause::protocol_error: return "protocol_error";
    case CloseCause::too_many_errors: return "too_many_errors";
    case CloseCause::timeout: return "timeout";
    case CloseCause::history_unavailable: return "history_unavailable";
    case CloseCause::history_busy: return "history_busy";
    case CloseCause::token_expired: return "token_expired";
    case CloseCause::count_: break;
  }
  return "unknown";
}

std::string_view to_string(ViewResult result) {
  switch (result) {
    case ViewResult::counted: return "counted";
    case ViewResult::unknown: return "unknown";
    case ViewResult::duplicate: return "duplicate";
    case ViewResult::rate_limited: return "rate_limited";
    case ViewResult::dropped: return "dropped";
    case ViewResult::count_: break;
  }
  return "unknown";
}

std::string_view to_string(Refusal refusal) {
  switch (refusal) {
    case Refusal::origin: return "origin";
    case Refusal::total: return "total";
    case Refusal::per_ip: return "per_ip";
    case Refusal::connect_rate: return "connect_rate";
    case Refusal::bad_proxy_header: return "bad_proxy_header";
    case Refusal::count_: break;
  }
  return "unknown";
}

void LatencyHistogram::observe(std::chrono::steady_clock::duration elapsed) {
  auto us = static_cast<std::uint64_t>(
      std::max<long long>(0, std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
  std::size_t bucket = 0;
  while (bucket < kBoundsUs.size() && us > kBoundsUs[bucket]) ++bucket;
  buckets_[bucket].add(1);
  sum_us_.add(us);
  count_.add(1);
}

void LatencyHistogram::add_to(LatencyHistogram& into) const {
  for (std::size_t i = 0; i < buckets_.size(); ++i) into.buckets_[i].add(buckets_[i].load());
  into.sum_us_.add(sum_us_.load());
  into.count_.add(count_.load());
}

void LatencyHistogram::render(std::string& out, std::string_view name) const {
  std::string n(name);
  out += "# HELP " + n + " In-server fan-out latency: Redis receive to write handed to the socket.\n";
  out += "# TYPE " + n + " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBoundsUs.size(); ++i) {
    cumulative += buckets_[i].load();
    char le[32];
    std::snprintf(le, sizeof le, "%g", static_cast<double>(kBoundsUs[i]) / 1e6);
    out += n + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_.back().load();
  out += n + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  char sum[32];
  std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(sum_us_.load()) / 1e6);
  out += n + "_sum " + sum + "\n";
  out += n + "_count " + std::to_string(count_.load()) + "\n";
}

void SubscriptionGauge::add(const std::string& category, int delta) {
  std::lock_guard lock(mutex_);
  auto& count = counts_[category];
  count += delta;
  if (count <= 0) counts_.erase(category);
}

std::map<std::string, std::int64_t> SubscriptionGauge::snapshot() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

Metrics::Totals Metrics::totals() const {
  Totals sum;
  for (const auto* worker : worker_counters) {
    sum.deliveries += worker->deliveries.load();
    sum.frames_written += worker->frames_written.load();
    sum.bytes_written += worker->bytes_written.load();
    sum.send_queue_peak_bytes =
        std::max(sum.send_queue_peak_bytes, worker->send_queue_peak_bytes.load());
    sum.trending_conflated += worker->trending_conflated.load();
    sum.send_queue_bytes += worker->send_queue_bytes.load();
    worker->fanout_latency.add_to(sum.fanout_latency);
  }
  return sum;
}

std::map<std::string, std::int64_t> Metrics::subscriptions() const {
  std::map<std::string, std::int64_t> sum;
  for (const auto* gauge : worker_subscriptions) {
    for (const auto& [category, count] : gauge->snapshot()) {
      bool labelled = category == protocol::kAllCategories || !known_categories ||
                      known_categories->contains(category);
      // Not a valid slug: cannot collide with a category.
      sum[labelled ? category : "_other"] += count;
    }
  }
  return sum;
}

namespace {

class PrometheusWriter {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += help;
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }
  template <typename Value>
  void sample(std::string_view name, Value value, std::string_view labels = {}) {
    text_ += name;
    if (!labels.empty()) {
      text_ += '{';
      text_ += labels;
      text_ += '}';
    }
    text_ += ' ';
    text_ += std::to_string(value);
    text_ += '\n';
  }
  template <typename Value>
  void single(std::string_view name, std::string_view type, std::string_view help, Value value) {
    family(name, type, help);
    sample(name, value);
  }
  std::string& text() { return text_; }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::uint64_t load(const std::atomic<std::uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

}  // namespace

std::string render_prometheus(const Metrics& m) {
  const auto totals = m.totals();
  PrometheusWriter w;
  w.single("newspush_connections", "gauge",
           "Reader connections open now (WebSocket and Server-Sent Events).",
           m.connections_current.load());
  w.single("newspush_sse_streams", "gauge", "Server-Sent Events streams (GET /sse) open now.",
           m.sse_streams_current.load());
  w.single("newspush_connections_opened_total", "counter",
           "Reader connections accepted (WebSocket and Server-Sent Events).",
           load(m.connections_opened));
  w.family("newspush_connections_closed_total", "counter", "Reader connections ended, by cause.");
  for (std::size_t i = 0; i < m.connections_closed.size(); ++i)
    w.sample("newspush_connections_closed_total", load(m.connections_closed[i]),
             "reason=\"" + std::string(to_string(static_cast<CloseCause>(i))) + "\"");
  w.single("newspush_slow_consumer_disconnects_total", "counter",
           "Connections closed with 1013 because their send queue passed its bound.",
           load(m.connections_closed[static_cast<std::size_t>(CloseCause::slow_consumer)]));
  w.single("newspush_tls_handshakes_total", "counter", "TLS handshakes completed (--tls-cert).",
           load(m.tls_handshakes));
  w.single("newspush_tls_handshake_failures_total", "counter",
           "TLS handshakes that failed: timeouts, versions or ciphers refused, plain HTTP, ...",
           load(m.tls_handshake_failures));
  w.single("newspush_tls_plain_http_total", "counter",
           "Plain HTTP requests on the TLS port (answered 400, closed; also handshake failures).",
           load(m.tls_plain_http));
  w.family("newspush_tls_reloads_total", "counter",
           "Certificate reloads on SIGHUP; failed: the old certificate stays.");
  w.sample("newspush_tls_reloads_total", load(m.tls_reloads), "result=\"ok\"");
  w.sample("newspush_tls_reloads_total", load(m.tls_reload_failures), "result=\"failed\"");
  w.single("newspush_redis_messages_total", "counter", "Messages received on the articles channel.",
           load(m.redis_messages));
  w.family("newspush_invalid_articles_total", "counter", "Rejected Redis messages, by reason.");
  for (std::size_t i = 1; i < m.invalid_articles.size(); ++i)
    w.sample("newspush_invalid_articles_total", load(m.invalid_articles[i]),
             "reason=\"" +
                 std::string(protocol::to_string(static_cast<protocol::ArticleError>(i))) + "\"");
  w.single("newspush_articles_total", "counter", "Valid articles fanned out.",
           load(m.articles_fanned_out));
  w.single("newspush_deliveries_total", "counter", "Article events queued for a connection.",
           totals.deliveries);
  w.single("newspush_frames_written_total", "counter", "WebSocket frames written.",
           totals.frames_written);
  w.single("newspush_bytes_written_total", "counter", "WebSocket payload bytes written.",
           totals.bytes_written);
  w.single("newspush_send_queue_bytes", "gauge",
           "Bytes waiting in all connections' send queues now.", totals.send_queue_bytes);
  w.single("newspush_send_queue_peak_bytes", "gauge", "Largest single send queue seen.",
           totals.send_queue_peak_bytes);
  w.single("newspush_client_errors_total", "counter", "Error replies to bad client commands.",
           load(m.client_errors));
  w.family("newspush_resumes_total", "counter",
           "Resumes (subscribe with since) by what served them; reset: past the replay limits, "
           "or the cursor could not be continued.");
  w.sample("newspush_resumes_total", load(m.replays_from_window), "source=\"window\"");
  w.sample("newspush_resumes_total", load(m.replays_from_redis), "source=\"redis\"");
  w.sample("newspush_resumes_total", load(m.replay_resets), "source=\"reset\"");
  w.single("newspush_replay_window_bytes", "gauge",
           "Bytes of recent events this node keeps to serve resumes.", m.replay_window_bytes.load());
  w.single("newspush_replay_window_events", "gauge",
           "Recent events this node keeps to serve resumes.", m.replay_window_events.load());
  w.single("newspush_live_feed_overflows_total", "counter",
           "Times the live events held during a catch-up passed their bound and were dropped, to "
           "be read again from the history.",
           load(m.live_feed_overflows));
  w.single("newspush_redis_up", "gauge", "1 while subscribed to Redis.", m.redis_up.load());
  w.single("newspush_redis_connects_total", "counter", "Times the Redis subscription was established.",
           load(m.redis_connects));
  w.single("newspush_redis_disconnects_total", "counter", "Established Redis subscriptions lost.",
           load(m.redis_disconnects));
  w.single("newspush_redis_failovers_total", "counter",
           "Redis primary switches announced by a sentinel (+switch-master) and followed.",
           load(m.redis_failovers));
  w.single("newspush_redis_failed_attempts_total", "counter", "Failed Redis connect attempts.",
           load(m.redis_failed_attempts));
  w.single("newspush_draining", "gauge", "1 once shutdown has begun.", m.draining.load());
  w.single("newspush_http_requests_total", "counter", "Plain HTTP requests served.",
           load(m.http_requests));
  w.family("newspush_connections_refused_total", "counter",
           "Connections and upgrades turned away, by reason.");
  for (std::size_t i = 0; i < m.refused.size(); ++i)
    w.sample("newspush_connections_refused_total", load(m.refused[i]),
             "reason=\"" + std::string(to_string(static_cast<Refusal>(i))) + "\"");
  w.family("newspush_tokens_total", "counter",
           "Connection tokens presented (?token= or the auth command), by outcome.");
  for (std::size_t i = 0; i < m.token_results.size(); ++i)
    w.sample("newspush_tokens_total", load(m.token_results[i]),
             "result=\"" + std::string(auth::to_string(static_cast<auth::TokenError>(i))) + "\"");
  w.single("newspush_token_expiries_total", "counter",
           "Tokens that lapsed on an open connection without a fresh one.", load(m.token_expiries));
  w.family("newspush_views_total", "counter", "Reader views received, by what became of them.");
  for (std::size_t i = 0; i < m.views.size(); ++i)
    w.sample("newspush_views_total", load(m.views[i]),
             "result=\"" + std::string(to_string(static_cast<ViewResult>(i))) + "\"");
  w.single("newspush_trending_leader", "gauge", "1 while this node computes the trending lists.",
           m.trending_leader.load());
  w.single("newspush_trending_lists_published_total", "counter",
           "Trending lists this node published as the leader.", load(m.trending_lists_published));
  w.single("newspush_trending_lists_received_total", "counter",
           "Trending lists received on the trending channel.", load(m.trending_lists_received));
  w.single("newspush_trending_conflated_total", "counter",
           "Queued trending lists replaced by a newer one before being sent.",
           totals.trending_conflated);
  w.family("newspush_subscriptions", "gauge",
           "Connections subscribed to each category (\"*\": all; \"_other\": names the history "
           "has not carried).");
  for (const auto& [category, count] : m.subscriptions())
    w.sample("newspush_subscriptions", count, "category=\"" + category + "\"");
  totals.fanout_latency.render(w.text(), "newspush_fanout_latency_seconds");
  return w.take();
}

}  // namespace newspush

namespace newspush {

std::string render_stats_json(const Metrics& m) {
  const auto totals = m.totals();
  nlohmann::json closed = nlohmann::json::object();
  for (std::size_t i = 0; i < m.connections_closed.size(); ++i)
    closed[std::string(to_string(static_cast<CloseCause>(i)))] = load(m.connections_closed[i]);
  nlohmann::json invalid = nlohmann::json::object();
  for (std::size_t i = 1; i < m.invalid_articles.size(); ++i)
    invalid[std::string(protocol::to_string(static_cast<protocol::ArticleError>(i)))] =
        load(m.invalid_articles[i]);
  nlohmann::json subscriptions = nlohmann::json::object();
  for (const auto& [category, count] : m.subscriptions()) subscriptions[category] = count;
  nlohmann::json views = nlohmann::json::object();
  for (std::size_t i = 0; i < m.views.size(); ++i)
    views[std::string(to_string(static_cast<ViewResult>(i)))] = load(m.views[i]);
  nlohmann::json stats = {
      {"connections", {{"current", m.connections_current.load()},
                       {"opened", load(m.connections_opened)},
                       {"closed", closed}}},
      {"subscriptions", subscriptions},
      {"articles", load(m.articles_fanned_out)},
      {"deliveries", totals.deliveries},
      {"frames_written", totals.frames_written},
      {"bytes_written", totals.bytes_written},
      {"send_queue_peak_bytes", totals.send_queue_peak_bytes},
      {"send_queue_bytes", totals.send_queue_bytes},
      {"redis", {{"up", m.redis_up.load() == 1},
                 {"messages", load(m.redis_messages)},
                 {"connects", load(m.redis_connects)},
                 {"disconnects", load(m.redis_disconnects)},
                 {"failed_attempts", load(m.redis_failed_attempts)},
                 {"failovers", load(m.redis_failovers)}}},
      {"invalid_articles", invalid},
      {"client_errors", load(m.client_errors)},
      {"views", views},
      {"trending", {{"leader", m.trending_leader.load() == 1},
                    {"lists_published", load(m.trending_lists_published)},
                    {"lists_received", load(m.trending_lists_received)},
                    {"conflated", totals.trending_conflated}}},
      {"draining", m.draining.load() == 1},
  };
  return stats.dump();
}

}  // namespace newspush

#pragma once
// Process-wide counters, updated with relaxed atomics from any thread and rendered for
// GET /metrics (Prometheus text format). The counters bumped per delivery or per write are each
// worker's own (WorkerCounters) and summed when scraped.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>
#include <string>

#include "protocol/article.hpp"

namespace newspush {

// Why a WebSocket connection ended; the label of newspush_connections_closed_total.
enum class CloseCause {
  client,           // the client closed or went away
  slow_consumer,    // send queue passed its bound (1013)
  shutdown,         // server draining (1001)
  protocol_error,   // binary (1003), invalid UTF-8 (1007), too big (1009)
  too_many_errors,  // error budget spent (1008)
  timeout,          // idle or handshake timeout
  history_unavailable,  // a resume could not read the history (1013): come back later
  history_busy,         // every history read slot was taken by other resumes (1013)
  token_expired,        // its token lapsed and it had only subscriber-only subscriptions (4001)
  count_
};
std::string_view to_string(CloseCause cause);

// What became of a reader's view; the label of newspush_views_total.
enum class ViewResult {
  counted,       // added to the rankings
  unknown,       // not an article the history knows (never published, retracted or expired)
  duplicate,     // this connection already counted this article
  rate_limited,  // this connection sends views too fast
  dropped,       // Redis could not take it
  count_
};
std::string_view to_string(ViewResult result);

// Why a connection or an upgrade was turned away; the label of newspush_connections_refused_total.
enum class Refusal {
  origin,            // --allowed-origin: the page's origin may not connect (403)
  total,             // --max-connections reached (503)
  per_ip,            // --max-connections-per-ip reached (429)
  connect_rate,      // --connect-rate-per-ip exceeded (429)
  bad_proxy_header,  // --proxy-protocol: a trusted proxy sent no valid PROXY header (closed)
  count_
};
std::string_view to_string(Refusal refusal);

inline constexpr std::size_t kArticleErrorCount =
    static_cast<std::size_t>(protocol::ArticleError::bad_breaking) + 1;

// A counter with one writer thread: a relaxed load and store, no read-modify-write, so the writer
// never waits for the cache line; readers (a scrape on another thread) see a recent value.
class SingleWriterCounter {
 public:
  SingleWriterCounter() = default;
  // A copy is a snapshot (the scrape's totals).
  SingleWriterCounter(const SingleWriterCounter& other) : value_(other.load()) {}
  SingleWriterCounter& operator=(const SingleWriterCounter&) = delete;

  void add(std::uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void raise_to(std::uint64_t n) {
    if (n > value_.load(std::memory_order_relaxed)) value_.store(n, std::memory_order_relaxed);
  }
  std::uint64_t load() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A level one thread moves up and down (bytes waiting in its connections' send queues); the
// scrape adds up every worker's.
class SingleWriterGauge {
 public:
  void add(std::int64_t delta) {
    value_.store(value_.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
  std::int64_t load() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// In-server fan-out latency: Redis receive -> frame handed to the socket, in microseconds. One
// writer thread (a worker's); the scrape adds up every worker's.
class LatencyHistogram {
 public:
  static constexpr std::array<std::uint64_t, 12> kBoundsUs{50,    100,   250,    500,    1000,  2500,
                                                            5000, 10000, 25000, 50000, 100000, 250000};
  void observe(std::chrono::steady_clock::duration elapsed);
  // Adds this histogram's counts to `into`.
  void add_to(LatencyHistogram& into) const;
  void render(std::string& out, std::string_view name) const;

 private:
  std::array<SingleWriterCounter, kBoundsUs.size() + 1> buckets_{};
  SingleWriterCounter sum_us_;
  SingleWriterCounter count_;
};

// What one worker thread counts per delivery, per write and per queued frame: written by that
// thread alone, on cache lines of its own, so fan-out performs no contended read-modify-write.
// Summed over workers at scrape time (Metrics::totals); same names and meanings as ever.
struct alignas(64) WorkerCounters {
  SingleWriterCounter deliveries;             // article events queued for a connection
  SingleWriterCounter frames_written;         // frames (WebSocket) or event batches (SSE) written
  SingleWriterCounter bytes_written;          // payload bytes handed to sockets
  SingleWriterCounter send_queue_peak_bytes;  // largest single queue this worker has seen
  SingleWriterGauge send_queue_bytes;         // waiting in this worker's send queues now
  SingleWriterCounter trending_conflated;     // queued lists replaced by a newer one
  LatencyHistogram fanout_latency;
};

// Subscriptions per category of one worker (changed on subscribe, never on fan-out): its lock is
// taken by that worker and, briefly, by a scrape, never by other workers.
class SubscriptionGauge {
 public:
  void add(const std::string& category, int delta);
  std::map<std::string, std::int64_t> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::int64_t> counts_;
};

class KnownCategories;

struct Metrics {
  using Counter = std::atomic<std::uint64_t>;

  // Each worker's hot-path counters, summed at scrape time; filled before the workers start.
  std::vector<const WorkerCounters*> worker_counters;
  struct Totals {
    std::uint64_t deliveries = 0, frames_written = 0, bytes_written = 0, send_queue_peak_bytes = 0,
                  trending_conflated = 0;
    std::int64_t send_queue_bytes = 0;
    LatencyHistogram fanout_latency;
  };
  Totals totals() const;

  // Each worker's gauge, summed at scrape time. A series per category only for categories the
  // history has carried (clients choose the names they subscribe to); the rest count as "_other".
  std::vector<const SubscriptionGauge*> worker_subscriptions;  // filled before the workers start
  const KnownCategories* known_categories = nullptr;
  std::map<std::string, std::int64_t> subscriptions() const;

  Counter connections_opened{0};
  std::atomic<std::int64_t> connections_current{0};
  std::atomic<std::int64_t> sse_streams_current{0};  // of which GET /sse streams
  std::array<Counter, static_cast<std::size_t>(CloseCause::count_)> connections_closed{};

  Counter redis_messages{0};  // everything received on the articles channel
  std::array<Counter, kArticleErrorCount> invalid_articles{};  // by protocol::ArticleError
  Counter articles_fanned_out{0};  // valid articles handed to the hub


  Counter client_errors{0};  // error messages sent for bad client commands
  // Times the live events held during a catch-up passed LiveFeed's byte bound (dropped, read again).
  Counter live_feed_overflows{0};
  // Resumes: served from the node's window, read from Redis, or answered with reset.
  Counter replays_from_window{0};
  Counter replays_from_redis{0};
  Counter replay_resets{0};
  std::atomic<std::int64_t> replay_window_bytes{0};
  std::atomic<std::int64_t> replay_window_events{0};
  Counter redis_connects{0};
  Counter redis_disconnects{0};
  Counter redis_failovers{0};  // +switch-master of our primary, announced by a sentinel
  Counter redis_failed_attempts{0};
  std::atomic<int> redis_up{0};
  std::atomic<int> draining{0};
  Counter http_requests{0};
  // --tls-cert: handshakes completed and failed (timeouts, bad versions, plain HTTP, ...), plain
  // HTTP requests on the TLS port (of the failures), certificate reloads on SIGHUP.
  Counter tls_handshakes{0};
  Counter tls_handshake_failures{0};
  Counter tls_plain_http{0};
  Counter tls_reloads{0};
  Counter tls_reload_failures{0};
  std::array<Counter, static_cast<std::size_t>(Refusal::count_)> refused{};

  void count_refusal(Refusal refusal) {
    refused[static_cast<std::size_t>(refusal)].fetch_add(1, std::memory_order_relaxed);
  }

  // Connection tokens presented (?token= or the auth command), by outcome: auth::TokenError.
  static constexpr std::size_t kTokenOutcomes = 12;
  std::array<Counter, kTokenOutcomes> token_results{};
  Counter token_expiries{0};  // grants that lapsed on a connection without a fresh token

  std::array<Counter, static_cast<std::size_t>(ViewResult::count_)> views{};
  std::atomic<int> trending_leader{0};    // 1 while this node computes the rankings
  Counter trending_lists_published{0};    // by this node, as the leader
  Counter trending_lists_received{0};     // from the trending channel, every node

  void count_views(ViewResult result, std::uint64_t n = 1) {
    views[static_cast<std::size_t>(result)].fetch_add(n, std::memory_order_relaxed);
  }

  void count_close(CloseCause cause) {
    connections_closed[static_cast<std::size_t>(cause)].fetch_add(1, std::memory_order_relaxed);
  }
};

std::string render_prometheus(const Metrics& metrics);
// The same at a glance, for GET /api/v1/stats.
std::string render_stats_json(const Metrics& metrics);

}  // namespace newspush

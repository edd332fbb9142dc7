#include "server/metrics.hpp"

namespace newspush {

std::string_view to_string(CloseCause cause) {
  switch (cause) {
    case CloseCause::client: return "client";
    case CloseCause::slow_consumer: return "slow_consumer";
    case CloseCause::shutdown: return "shutdown";
    case CloseCause::protocol_error: return "protocol_error";
    case CloseCause::too_many_errors: return "too_many_errors";
    case CloseCause::timeout: return "timeout";
    case CloseCause::count_: break;
  }
  return "unknown";
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
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::uint64_t load(const std::atomic<std::uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

}  // namespace

std::string render_prometheus(const Metrics& m) {
  PrometheusWriter w;
  w.single("newspush_connections", "gauge", "WebSocket connections open now.",
           m.connections_current.load());
  w.single("newspush_connections_opened_total", "counter", "WebSocket connections accepted.",
           load(m.connections_opened));
  w.family("newspush_connections_closed_total", "counter", "WebSocket connections ended, by cause.");
  for (std::size_t i = 0; i < m.connections_closed.size(); ++i)
    w.sample("newspush_connections_closed_total", load(m.connections_closed[i]),
             "reason=\"" + std::string(to_string(static_cast<CloseCause>(i))) + "\"");
  w.single("newspush_slow_consumer_disconnects_total", "counter",
           "Connections closed with 1013 because their send queue passed its bound.",
           load(m.connections_closed[static_cast<std::size_t>(CloseCause::slow_consumer)]));
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
           load(m.deliveries));
  w.single("newspush_frames_written_total", "counter", "WebSocket frames written.",
           load(m.frames_written));
  w.single("newspush_bytes_written_total", "counter", "WebSocket payload bytes written.",
           load(m.bytes_written));
  w.single("newspush_send_queue_bytes", "gauge", "Bytes queued in all connections now.",
           m.send_queue_bytes.load());
  w.single("newspush_send_queue_peak_bytes", "gauge", "Largest single send queue seen.",
           load(m.send_queue_peak_bytes));
  w.single("newspush_client_errors_total", "counter", "Error replies to bad client commands.",
           load(m.client_errors));
  w.single("newspush_redis_up", "gauge", "1 while subscribed to Redis.", m.redis_up.load());
  w.single("newspush_redis_connects_total", "counter", "Times the Redis subscription was established.",
           load(m.redis_connects));
  w.single("newspush_redis_disconnects_total", "counter", "Established Redis subscriptions lost.",
           load(m.redis_disconnects));
  w.single("newspush_redis_failed_attempts_total", "counter", "Failed Redis connect attempts.",
           load(m.redis_failed_attempts));
  w.single("newspush_draining", "gauge", "1 once shutdown has begun.", m.draining.load());
  w.single("newspush_http_requests_total", "counter", "Plain HTTP requests served.",
           load(m.http_requests));
  return w.take();
}

}  // namespace newspush

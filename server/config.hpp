#pragma once
// newspushd's configuration: every setting has a default, a --flag and a NEWSPUSH_* variable, all
// declared once in config.cpp, which also generates --help from the same table.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/option_table.hpp"
#include "common/redis_url.hpp"
#include "server/log.hpp"

namespace newspush {

struct Config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;  // 0 = any free port (the bound one is logged)
  bool reuse_port = false;           // SO_REUSEPORT: several processes share the port
  std::string admin_host;            // --admin-listen; empty: operator endpoints on the public port
  std::uint16_t admin_port = 0;
  std::string tls_cert;              // PEM chain; with tls_key: TLS on both listeners
  std::string tls_key;               // PEM private key
  RedisEndpoint redis;               // redis://127.0.0.1:6379
  std::chrono::milliseconds redis_timeout{10000};  // a command unanswered this long: reconnect
  std::size_t publish_replicas = 0;  // WAIT for this many replicas before acknowledging a write
  std::chrono::milliseconds publish_replicas_timeout{1000};
  std::string channel = "news:articles";         // bare PUBLISH: live only
  std::string events_channel = "news:events";   // announcements of the atomic publish path
  std::string history_key = "news:log";         // the Redis stream holding the history
  std::size_t history_max_length = 10000;       // events kept
  std::chrono::seconds history_max_age{86400};  // and for how long
  std::vector<std::string> publish_keys;        // Bearer keys of the publish API; none: 403
  std::vector<std::string> allowed_origins;     // pages that may open /ws; none: any
  // Subscriber-only categories and the connection tokens (JWT) that open them.
  std::vector<std::string> restricted_categories;  // patterns: "live-blog", "premium-*"
  std::string token_secret;                        // HS256; empty: none
  std::vector<std::string> token_public_keys;      // PEM files, RS256 and ES256 (kid: base name)
  std::string token_issuer;                        // required `iss`; empty: not checked
  std::string token_audience;                      // required `aud`; empty: tokens with one refused
  std::chrono::seconds token_expiry_lead{60};      // token_expiring this long before `exp`
  std::string static_dir;                       // demo page served at /; empty: none
  unsigned threads = 0;                        // 0 = one per hardware thread
  std::size_t max_send_queue = 1024 * 1024;    // bytes queued per connection before 1013
  std::size_t max_frame = 64 * 1024;           // largest client frame accepted (else 1009)
  std::size_t max_categories = 64;             // subscriptions per connection
  std::size_t max_connections = 0;             // whole process; 0: no cap
  std::size_t max_connections_per_ip = 0;      // WebSocket connections per address; 0: no cap
  unsigned connect_rate_per_ip = 0;            // new WebSocket connections per second per address
  unsigned command_rate = 20;                  // client commands per second per connection
  std::vector<std::string> trusted_proxies;    // peers whose X-Forwarded-For names the client
  bool proxy_protocol = false;                 // trusted peers start with a PROXY header instead
  std::size_t max_article = 256 * 1024;        // largest article accepted from Redis
  std::size_t replay_window = 32 * 1024 * 1024;   // bytes of recent events kept for resumes
  std::size_t max_replay_events = 5000;        // one resume replays at most this many events
  std::size_t max_replay_bytes = 8 * 1024 * 1024;  // and this many bytes
  std::size_t max_history_reads = 4;           // resumes reading Redis at once, node-wide
  std::chrono::seconds idle_timeout{60};       // no traffic (pings unanswered) -> closed
  std::chrono::seconds sse_heartbeat{15};      // a comment on a silent /sse stream
  std::chrono::seconds drain_timeout{5};       // SIGTERM: longest wait for clients to close
  std::string trending_channel = "news:trending";           // where the leader publishes lists
  std::chrono::milliseconds trending_interval{2000};        // rankings recomputed this often
  std::chrono::milliseconds trending_half_life{7200000};    // a view's weight halves in this time
  std::size_t trending_size = 10;                           // items per list
  LogLevel log_level = LogLevel::info;
  LogFormat log_format = LogFormat::text;
};

// Thrown for a bad flag, value or environment variable; what() names it in one line.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using ConfigAction = options::Action;
using EnvLookup = options::EnvLookup;
// "500ms", "2s", "5m", "2h"; a bare number is seconds. None when malformed or not positive.
using options::parse_duration;

// Checks what no single flag can: pairs of flags that need each other. Throws ConfigError.
void check_config(const Config& config);

// Environment first, then flags (flags win). Throws ConfigError.
ConfigAction parse_config(const std::vector<std::string>& args, const EnvLookup& env,
                          Config& config);
std::string help_text();
unsigned effective_threads(const Config& config);

}  // namespace newspush

#include "server/config.hpp"

#include <charconv>
#include <span>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include "server/auth/restricted_categories.hpp"
#include "server/auth/token_verifier.hpp"
#include "server/net/origin_policy.hpp"

namespace newspush {
namespace {

using options::apply_list;
using options::is_boolean_word;
using options::parse_int;

struct Option {
  const char* flag;
  const char* env;
  const char* value_name;
  const char* help;
  const char* default_text;
  // Returns an error message, empty when the value was accepted.
  std::string (*apply)(Config&, const std::string&);
  // A boolean that may stand alone: `--flag` means true, `--flag false` still works.
  bool is_switch = false;
};

std::string apply_listen(Config& c, const std::string& v) {
  return options::parse_host_port(v, c.listen_host, c.listen_port);
}

std::string apply_admin_listen(Config& c, const std::string& v) {
  Config parsed;
  if (auto e = apply_listen(parsed, v); !e.empty()) return e;
  c.admin_host = parsed.listen_host;
  c.admin_port = parsed.listen_port;
  return {};
}

std::string apply_redis(Config& c, const std::string& v) {
  std::string error;
  auto endpoint = parse_redis_url(v, &error);
  if (!endpoint) return error;
  // --redis-sentinel and --redis-master may come before --redis.
  endpoint->sentinels = std::move(c.redis.sentinels);
  endpoint->sentinel_master = std::move(c.redis.sentinel_master);
  c.redis = *endpoint;
  return {};
}

std::string apply_channel(Config& c, const std::string& v) {
  if (v.empty()) return "must not be empty";
  c.channel = v;
  return {};
}

std::string apply_redis_sentinels(Config& c, const std::string& v) {
  std::vector<std::string> entries;
  return apply_list(entries, v, [&c](const std::string& entry) {
    std::string error;
    auto sentinel = parse_host_port(entry, &error);
    if (!sentinel) return error;
    c.redis.sentinels.push_back(*sentinel);
    return std::string();
  });
}

std::string apply_redis_master(Config& c, const std::string& v) {
  if (v.empty()) return "must not be empty";
  c.redis.sentinel_master = v;
  return {};
}

std::string apply_publish_keys(Config& c, const std::string& v) {
  return apply_list(c.publish_keys, v, [](const std::string& key) {
    return key.size() < 16 ? std::string("each key needs at least 16 characters") : std::string();
  });
}

std::string apply_restricted_categories(Config& c, const std::string& v) {
  return apply_list(c.restricted_categories, v,
                    [](const std::string& pattern) { return auth::CategoryPatterns().add(pattern); });
}

std::string apply_token_secret(Config& c, const std::string& v) {
  if (v.size() < auth::kMinSecretBytes)
    return "needs at least " + std::to_string(auth::kMinSecretBytes) + " bytes (HS256)";
  c.token_secret = v;
  return {};
}

std::string apply_token_public_keys(Config& c, const std::string& v) {
  return apply_list(c.token_public_keys, v, [](const std::string& file) {
    return file.empty() ? std::string("must name a PEM file") : std::string();
  });
}

std::string apply_allowed_origins(Config& c, const std::string& v) {
  return apply_list(c.allowed_origins, v,
                    [](const std::string& pattern) { return OriginPolicy().add(pattern); });
}

std::string apply_trusted_proxies(Config& c, const std::string& v) {
  return apply_list(c.trusted_proxies, v, [](const std::string& address) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(address, ec);
    return ec ? std::string("expected an IP address, e.g. 10.0.0.2 or ::1") : std::string();
  });
}

std::string apply_nonempty(std::string Config::*field, Config& c, const std::string& v) {
  if (v.empty()) return "must not be empty";
  c.*field = v;
  return {};
}

std::string apply_threads(Config& c, const std::string& v) {
  return parse_int<unsigned>(v, 0, 256, c.threads);
}

template <std::size_t Config::*Field, std::size_t Min, std::size_t Max>
std::string apply_size(Config& c, const std::string& v) {
  return parse_int<std::size_t>(v, Min, Max, c.*Field);
}

template <std::chrono::seconds Config::*Field>
std::string apply_seconds(Config& c, const std::string& v) {
  unsigned seconds = 0;
  if (auto e = parse_int<unsigned>(v, 1, 30 * 86400, seconds); !e.empty()) return e;
  c.*Field = std::chrono::seconds(seconds);
  return {};
}

template <std::chrono::milliseconds Config::*Field, long long MinMs, long long MaxMs>
std::string apply_duration(Config& c, const std::string& v) {
  auto duration = parse_duration(v);
  if (!duration || duration->count() < MinMs || duration->count() > MaxMs)
    return "expected a duration such as 500ms, 2s, 5m or 2h, from " + std::to_string(MinMs) +
           "ms to " + std::to_string(MaxMs / 1000) + "s";
  c.*Field = *duration;
  return {};
}

std::string apply_bool(bool Config::*field, Config& c, const std::string& v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") c.*field = true;
  else if (v == "0" || v == "false" || v == "no" || v == "off") c.*field = false;
  else return "expected true or false";
  return {};
}

std::string apply_log_level(Config& c, const std::string& v) {
  auto level = parse_log_level(v);
  if (!level) return "expected debug, info, warn or error";
  c.log_level = *level;
  return {};
}

std::string apply_log_format(Config& c, const std::string& v) {
  auto format = parse_log_format(v);
  if (!format) return "expected text or json";
  c.log_format = *format;
  return {};
}

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

const Option kOptions[] = {
    {"--listen", "NEWSPUSH_LISTEN", "HOST:PORT", "address to serve WebSocket and HTTP on (port 0: any)",
     "127.0.0.1:8080", apply_listen},
    {"--admin-listen", "NEWSPUSH_ADMIN_LISTEN", "HOST:PORT",
     "serve the operator endpoints (/metrics, /api/v1/stats, publish, retract, views) on this "
     "address only, e.g. 127.0.0.1:9090; the public port then has no write door at all",
     "none: on the public port", apply_admin_listen},
    {"--tls-cert", "NEWSPUSH_TLS_CERT", "FILE",
     "serve TLS (https://, wss://) on --listen and --admin-listen with this PEM certificate, the "
     "server's first, then its intermediates; needs --tls-key. TLS 1.2 and 1.3, ECDHE with AEAD "
     "ciphers only, ALPN http/1.1. SIGHUP reads both files again: new connections get the new "
     "certificate, open ones keep theirs; a file that fails keeps the old one (logged)",
     "none: plain TCP",
     [](Config& c, const std::string& v) { return apply_nonempty(&Config::tls_cert, c, v); }},
    {"--tls-key", "NEWSPUSH_TLS_KEY", "FILE",
     "the PEM private key of --tls-cert (unencrypted; readable by newspushd only)", "none",
     [](Config& c, const std::string& v) { return apply_nonempty(&Config::tls_key, c, v); }},
    {"--reuse-port", "NEWSPUSH_REUSE_PORT", "[BOOL]",
     "let several newspushd processes listen on the same port (SO_REUSEPORT; the kernel spreads "
     "connections over them)",
     "false", [](Config& c, const std::string& v) { return apply_bool(&Config::reuse_port, c, v); },
     true},
    {"--redis", "NEWSPUSH_REDIS", "URL",
     "Redis to subscribe to, redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]: with a password every "
     "connection sends AUTH (USER: an ACL user; none: requirepass) before SELECT; %XX escapes "
     "in USER and PASSWORD. The password is never logged nor shown (***); keep it out of ps "
     "with the variable rather than the flag",
     "redis://127.0.0.1:6379", apply_redis},
    {"--redis-sentinel", "NEWSPUSH_REDIS_SENTINELS", "HOST:PORT",
     "find the Redis primary through these Sentinels (repeat the flag, or commas): before every "
     "connect they are asked in turn, each within 2 s, for the primary of --redis-master; "
     "--redis then gives only the user, password and db (sent to the data nodes; the sentinels "
     "get no AUTH). A connection lost, a replica (ROLE) or a READONLY reply asks them again; "
     "their +switch-master moves every connection to the new primary at once",
     "none: --redis's host", apply_redis_sentinels},
    {"--redis-master", "NEWSPUSH_REDIS_MASTER", "NAME",
     "the name the Sentinels monitor the primary under (sentinel monitor NAME ...); required "
     "with --redis-sentinel",
     "none", apply_redis_master},
    {"--redis-timeout", "NEWSPUSH_REDIS_TIMEOUT", "DURATION",
     "a Redis command unanswered this long means Redis hangs: the connection is dropped, its "
     "requests fail (503) and it reconnects",
     "10s", apply_duration<&Config::redis_timeout, 100, 3600 * 1000>},
    {"--publish-replicas", "NEWSPUSH_PUBLISH_REPLICAS", "N",
     "acknowledge a publish or retract (its cursor) only once N replicas confirmed it (Redis "
     "WAIT), so that an acknowledged article survives a failover; otherwise answer 503 "
     "not_replicated (the article may still appear; retrying the same request is safe). Writes "
     "then use a connection of their own. 0: acknowledged once the primary applied it",
     "0", apply_size<&Config::publish_replicas, 0, 64>},
    {"--publish-replicas-timeout", "NEWSPUSH_PUBLISH_REPLICAS_TIMEOUT", "DURATION",
     "how long a publish waits for the --publish-replicas confirmations",
     "1s", apply_duration<&Config::publish_replicas_timeout, 10, 60 * 1000>},
    {"--channel", "NEWSPUSH_CHANNEL", "NAME", "Redis pub/sub channel articles arrive on",
     "news:articles", apply_channel},
    {"--events-channel", "NEWSPUSH_EVENTS_CHANNEL", "NAME",
     "Redis channel the atomic publish path announces events on", "news:events",
     [](Config& c, const std::string& v) { return apply_nonempty(&Config::events_channel, c, v); }},
    {"--history-key", "NEWSPUSH_HISTORY_KEY", "KEY", "Redis stream holding the shared history",
     "news:log",
     [](Config& c, const std::string& v) { return apply_nonempty(&Config::history_key, c, v); }},
    {"--history-max-length", "NEWSPUSH_HISTORY_MAX_LENGTH", "N",
     "events kept in the history (resume window, by count)", "10000",
     apply_size<&Config::history_max_length, 10, 10000000>},
    {"--history-max-age", "NEWSPUSH_HISTORY_MAX_AGE", "SECONDS",
     "how long events stay in the history (resume window, by age)", "86400",
     apply_seconds<&Config::history_max_age>},
    {"--publish-key", "NEWSPUSH_PUBLISH_KEYS", "KEY",
     "Bearer key allowed to use the publish API (repeat the flag; the variable takes a "
     "comma-separated list); none: the API answers 403",
     "none", apply_publish_keys},
    {"--allowed-origin", "NEWSPUSH_ALLOWED_ORIGINS", "ORIGIN",
     "a web page origin allowed to open /ws, exact (https://www.example.org) or every subdomain "
     "(https://*.example.org); repeat the flag, the variable takes a comma-separated list. Other "
     "origins get 403 at the handshake; requests without Origin (not from a browser) pass",
     "any", apply_allowed_origins},
    {"--restricted-category", "NEWSPUSH_RESTRICTED_CATEGORIES", "PATTERN",
     "a category only readers with a token allowing it receive: a slug or a prefix pattern "
     "(premium-*); repeat the flag, the variable takes a comma-separated list",
     "none", apply_restricted_categories},
    {"--token-secret", "NEWSPUSH_TOKEN_SECRET", "SECRET",
     "HS256 secret the site's backend signs reader tokens with (at least 32 bytes; prefer the "
     "variable, which ps does not show)",
     "none", apply_token_secret},
    {"--token-public-key", "NEWSPUSH_TOKEN_PUBLIC_KEYS", "FILE",
     "PEM public key (RSA for RS256, EC P-256 for ES256) reader tokens are signed for; its base "
     "name without extension is the key id a token's kid names. Repeat for rotation",
     "none", apply_token_public_keys},
    {"--token-issuer", "NEWSPUSH_TOKEN_ISSUER", "ISS", "the iss reader tokens must carry",
     "not checked",
     [](Config& c, const std::string& v) { return apply_nonempty(&Config::token_issuer, c, v); }},
    {"--token-audience", "NEWSPUSH_TOKEN_AUDIENCE", "AUD",
     "the aud reader tokens must carry (without it, tokens that name an audience are refused)",
     "none",
     [](Config& c, const std::string& v) { return apply_nonempty(&Config::token_audience, c, v); }},
    {"--token-expiry-lead", "NEWSPUSH_TOKEN_EXPIRY_LEAD", "SECONDS",
     "send token_expiring this long before a reader's token expires", "60",
     apply_seconds<&Config::token_expiry_lead>},
    {"--static-dir", "NEWSPUSH_STATIC_DIR", "DIR",
     "serve this directory at / (the demo page: web/static) and its ../client at /client/, "
     "read once at start-up (at most 1000 files, 32 MiB together)",
     "none", [](Config& c, const std::string& v) { return apply_nonempty(&Config::static_dir, c, v); }},
    {"--threads", "NEWSPUSH_THREADS", "N", "I/O threads (0: one per hardware thread)", "0",
     apply_threads},
    {"--max-send-queue", "NEWSPUSH_MAX_SEND_QUEUE", "BYTES",
     "bytes queued for one connection before it is closed as a slow consumer (1013)", "1048576",
     apply_size<&Config::max_send_queue, 4 * KiB, 1024 * MiB>},
    {"--max-frame", "NEWSPUSH_MAX_FRAME", "BYTES", "largest client frame accepted (1009 beyond)",
     "65536", apply_size<&Config::max_frame, 256, 16 * MiB>},
    {"--max-subscriptions", "NEWSPUSH_MAX_SUBSCRIPTIONS", "N",
     "categories one connection may subscribe to (and as many trending lists); past it: error "
     "too_many_categories",
     "64", apply_size<&Config::max_categories, 1, 100000>},
    {"--max-categories", "NEWSPUSH_MAX_CATEGORIES", "N", "older name of --max-subscriptions", "64",
     apply_size<&Config::max_categories, 1, 100000>},
    {"--max-connections", "NEWSPUSH_MAX_CONNECTIONS", "N",
     "connections the process holds at most (0: no cap but the open-files limit); past it a new "
     "connection is answered 503 and closed",
     "0", apply_size<&Config::max_connections, 0, 100000000>},
    {"--max-connections-per-ip", "NEWSPUSH_MAX_CONNECTIONS_PER_IP", "N",
     "WebSocket connections one client address may hold (IPv6: per /64; 0: no cap); past it the "
     "upgrade is answered 429. Behind a proxy set --trusted-proxy, else every client is the proxy",
     "0", apply_size<&Config::max_connections_per_ip, 0, 100000000>},
    {"--connect-rate-per-ip", "NEWSPUSH_CONNECT_RATE_PER_IP", "N",
     "new WebSocket connections per second from one client address, after a burst of twice that "
     "(0: no limit); past it the upgrade is answered 429",
     "0", [](Config& c, const std::string& v) { return parse_int<unsigned>(v, 0, 1000000, c.connect_rate_per_ip); }},
    {"--command-rate", "NEWSPUSH_COMMAND_RATE", "N",
     "commands per second one connection may send, after a burst of twice that; past it each "
     "command is answered with error rate_limited, and a connection that keeps on is closed "
     "with 1008",
     "20", [](Config& c, const std::string& v) { return parse_int<unsigned>(v, 1, 100000, c.command_rate); }},
    {"--trusted-proxy", "NEWSPUSH_TRUSTED_PROXIES", "ADDRESS",
     "a load balancer's address: for connections from it, the client address is the last "
     "X-Forwarded-For entry it added (with --proxy-protocol: the PROXY header's source); repeat "
     "the flag, the variable takes a comma-separated list",
     "none", apply_trusted_proxies},
    {"--proxy-protocol", "NEWSPUSH_PROXY_PROTOCOL", "[BOOL]",
     "every connection from a --trusted-proxy must begin with a PROXY protocol header, v1 or v2 "
     "(HAProxy's send-proxy-v2), whose source is the client address the per-address limits "
     "count (LOCAL: the proxy itself); X-Forwarded-For is then ignored. A trusted peer that sends "
     "none, or a bad one, within 10 s is closed. Other peers connect directly, without a header. "
     "Needs --trusted-proxy. Alone, the flag means true",
     "false",
     [](Config& c, const std::string& v) { return apply_bool(&Config::proxy_protocol, c, v); },
     true},
    {"--max-article", "NEWSPUSH_MAX_ARTICLE", "BYTES", "largest article accepted from Redis",
     "262144", apply_size<&Config::max_article, 256, 64 * MiB>},
    {"--replay-window", "NEWSPUSH_REPLAY_WINDOW", "BYTES",
     "recent events each node keeps in memory, serialized, to serve resumes (and the article "
     "lists) without asking Redis; older cursors are read from the history",
     "33554432", apply_size<&Config::replay_window, 0, 16384 * MiB>},
    {"--max-replay-events", "NEWSPUSH_MAX_REPLAY_EVENTS", "N",
     "events of the history (all categories) one resume may replay; past it the client gets "
     "reset replay_too_long and reloads its list",
     "5000", apply_size<&Config::max_replay_events, 1, 10000000>},
    {"--max-replay-bytes", "NEWSPUSH_MAX_REPLAY_BYTES", "BYTES",
     "bytes of those events one resume may replay; past it: reset replay_too_long", "8388608",
     apply_size<&Config::max_replay_bytes, 1024, 1024 * MiB>},
    {"--max-history-reads", "NEWSPUSH_MAX_HISTORY_READS", "N",
     "resumes older than the replay window reading Redis at once, node-wide; past it a resume "
     "is closed with 1013 history_busy (the client retries later)",
     "4", apply_size<&Config::max_history_reads, 1, 10000>},
    {"--idle-timeout", "NEWSPUSH_IDLE_TIMEOUT", "SECONDS",
     "close a connection silent this long (pings are sent at half of it)", "60",
     apply_seconds<&Config::idle_timeout>},
    {"--sse-heartbeat", "NEWSPUSH_SSE_HEARTBEAT", "SECONDS",
     "on a silent GET /sse stream, send a comment this often so proxies keep it open", "15",
     apply_seconds<&Config::sse_heartbeat>},
    {"--drain-timeout", "NEWSPUSH_DRAIN_TIMEOUT", "SECONDS",
     "on SIGTERM/SIGINT, longest wait for clients to close before exiting", "5",
     apply_seconds<&Config::drain_timeout>},
    {"--trending-channel", "NEWSPUSH_TRENDING_CHANNEL", "NAME",
     "Redis channel the trending lists are published on", "news:trending",
     [](Config& c, const std::string& v) { return apply_nonempty(&Config::trending_channel, c, v); }},
    {"--trending-interval", "NEWSPUSH_TRENDING_INTERVAL", "DURATION",
     "how often the rankings are recomputed (at most one list per category per interval); "
     "another node takes over within 3 intervals when the computing one dies",
     "2s", apply_duration<&Config::trending_interval, 50, 3600 * 1000>},
    {"--trending-half-life", "NEWSPUSH_TRENDING_HALF_LIFE", "DURATION",
     "time in which a view's weight in the rankings halves", "2h",
     apply_duration<&Config::trending_half_life, 1000, 30LL * 86400 * 1000>},
    {"--trending-size", "NEWSPUSH_TRENDING_SIZE", "N", "articles in each trending list", "10",
     apply_size<&Config::trending_size, 1, 100>},
    {"--log-level", "NEWSPUSH_LOG_LEVEL", "LEVEL", "debug, info, warn or error", "info",
     apply_log_level},
    {"--log-format", "NEWSPUSH_LOG_FORMAT", "FORMAT",
     "text (one readable line an event: time, level, event, key=value fields) or json (one JSON "
     "object a line: time, level, event and the fields, for log shippers)",
     "text", apply_log_format},
};

void apply(const Option& option, Config& config, const std::string& value, const std::string& source) {
  if (auto error = option.apply(config, value); !error.empty()) {
    // A Redis URL may hold a password and a publish key is a secret: their values are not
    // repeated (parse_redis_url's errors never quote the URL either).
    bool secret = option.apply == apply_redis || option.apply == apply_publish_keys ||
                  option.apply == apply_token_secret;
    throw ConfigError(source + ": invalid value" + (secret ? "" : " '" + value + "'") + ": " +
                      error);
  }
}

}  // namespace

ConfigAction parse_config(const std::vector<std::string>& args, const EnvLookup& env,
                          Config& config) {
  auto action = options::parse<ConfigError>(
      args, env, std::span<const Option>(kOptions),
      [&config](const Option& option, const std::string& value, const std::string& source) {
        apply(option, config, value, source);
      });
  if (action == ConfigAction::run) check_config(config);
  return action;
}

void check_config(const Config& config) {
  if (config.tls_cert.empty() != config.tls_key.empty())
    throw ConfigError(config.tls_cert.empty()
                          ? "--tls-key: needs --tls-cert, the certificate it is the key of"
                          : "--tls-cert: needs --tls-key, the certificate's private key");
  if (config.redis.sentinels.empty() != config.redis.sentinel_master.empty())
    throw ConfigError(config.redis.sentinels.empty()
                          ? "--redis-master: needs --redis-sentinel, the sentinels to ask"
                          : "--redis-sentinel: needs --redis-master, the name of the primary");
  // Believing a PROXY header from anyone would let any client pick its own address.
  if (config.proxy_protocol && config.trusted_proxies.empty())
    throw ConfigError("--proxy-protocol: needs --trusted-proxy, the balancer's address: only its "
                      "PROXY headers are read");
  // A lone article must always fit in a send queue, else every reader of it would look slow.
  if (config.max_send_queue < config.max_article + 1024)
    throw ConfigError("--max-send-queue: must be at least --max-article + 1024 (" +
                      std::to_string(config.max_article + 1024) + ")");
}

std::string help_text() {
  return options::render_help(
      "Usage: newspushd [OPTIONS]\n"
      "Pushes articles published on Redis to WebSocket clients (ws://HOST:PORT/ws; wss:// with\n"
      "--tls-cert) and Server-Sent Events readers (/sse).\n"
      "HTTP: /healthz, /readyz, /metrics and the /api/v1 endpoints of protocol/PROTOCOL.md.\n"
      "Every option can also be set by the environment variable shown; the flag wins.\n\n"
      
      "Options:\n",
      std::span<const Option>(kOptions));
}

unsigned effective_threads(const Config& config) {
  if (config.threads > 0) return config.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace newspush

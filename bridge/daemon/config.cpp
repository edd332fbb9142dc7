#include "bridge/daemon/config.hpp"

#include <unistd.h>

#include <charconv>
#include <span>
#include <optional>
#include <string_view>

#include "bridge/daemon/cors.hpp"

namespace newspush::bridge {
namespace {

using options::apply_list;
using options::parse_duration;
using options::parse_int;

struct Option {
  const char* flag;
  const char* env;
  const char* value_name;
  const char* help;
  const char* default_text;
  // An error message, empty when the value was accepted.
  std::string (*apply)(BridgeConfig&, const std::string&);
  bool secret = false;  // its value is never repeated in an error
  bool is_switch = false;
};

std::string apply_listen(BridgeConfig& c, const std::string& v) {
  return options::parse_host_port(v, c.listen_host, c.listen_port);
}

std::string apply_redis(BridgeConfig& c, const std::string& v) {
  std::string error;
  auto endpoint = parse_redis_url(v, &error);
  if (!endpoint) return error;
  endpoint->sentinels = std::move(c.redis.sentinels);
  endpoint->sentinel_master = std::move(c.redis.sentinel_master);
  c.redis = *endpoint;
  return {};
}

std::string apply_redis_sentinels(BridgeConfig& c, const std::string& v) {
  std::vector<std::string> entries;
  return apply_list(entries, v, [&c](const std::string& entry) {
    std::string error;
    auto sentinel = parse_host_port(entry, &error);
    if (!sentinel) return error;
    c.redis.sentinels.push_back(*sentinel);
    return std::string();
  });
}

template <std::string BridgeConfig::*field>
std::string apply_nonempty(BridgeConfig& c, const std::string& v) {
  if (v.empty()) return "must not be empty";
  c.*field = v;
  return {};
}

template <std::size_t BridgeConfig::*field, std::size_t min, std::size_t max>
std::string apply_size(BridgeConfig& c, const std::string& v) {
  return parse_int<std::size_t>(v, min, max, c.*field);
}

std::string apply_api_keys(BridgeConfig& c, const std::string& v) {
  return apply_list(c.api_keys, v, [](const std::string& key) {
    return key.size() < 16 ? std::string("each key needs at least 16 characters") : std::string();
  });
}

std::string apply_cors_origins(BridgeConfig& c, const std::string& v) {
  return apply_list(c.cors_origins, v, check_cors_origin);
}

std::string apply_claim_after(BridgeConfig& c, const std::string& v) {
  auto d = parse_duration(v);
  if (!d || *d < std::chrono::milliseconds(100)) return "expected a DURATION of at least 100ms";
  c.claim_after = *d;
  return {};
}

std::string apply_ttl(BridgeConfig& c, const std::string& v) {
  auto d = parse_duration(v);
  if (!d || *d < std::chrono::seconds(1) || *d > std::chrono::hours(24 * 28))
    return "expected a DURATION from 1s to 672h";
  c.ttl = std::chrono::duration_cast<std::chrono::seconds>(*d);
  return {};
}

std::string apply_vapid_subject(BridgeConfig& c, const std::string& v) {
  if (!v.starts_with("mailto:") && !v.starts_with("https://"))
    return "expected a mailto: or https: URL";
  c.vapid_subject = v;
  return {};
}

template <bool BridgeConfig::*field>
std::string apply_bool(BridgeConfig& c, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on")
    c.*field = true;
  else if (v == "false" || v == "0" || v == "no" || v == "off")
    c.*field = false;
  else
    return "expected true or false";
  return {};
}

std::string apply_log_level(BridgeConfig& c, const std::string& v) {
  if (v != "debug" && v != "info" && v != "warn" && v != "error")
    return "expected debug, info, warn or error";
  c.log_level = v;
  return {};
}

const Option kOptions[] = {
    {"--redis", "NEWSPUSH_BRIDGE_REDIS", "URL",
     "Redis holding the history stream and the devices: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]",
     "redis://127.0.0.1:6379", apply_redis, true},
    {"--redis-sentinel", "NEWSPUSH_BRIDGE_REDIS_SENTINELS", "HOST:PORT",
     "a Sentinel to ask for the primary (repeat the flag, the variable takes a comma-separated "
     "list); needs --redis-master. --redis then only gives the credentials and database",
     "none", apply_redis_sentinels},
    {"--redis-master", "NEWSPUSH_BRIDGE_REDIS_MASTER", "NAME",
     "the primary's name at the sentinels", "none",
     [](BridgeConfig& c, const std::string& v) {
       if (v.empty()) return std::string("must not be empty");
       c.redis.sentinel_master = v;
       return std::string();
     }},
    {"--listen", "NEWSPUSH_BRIDGE_LISTEN", "HOST:PORT",
     "address of the device API, /healthz, /readyz and /metrics (port 0: any free port)",
     "127.0.0.1:8090", apply_listen},
    {"--api-key", "NEWSPUSH_BRIDGE_API_KEYS", "KEY",
     "a key the device API accepts as Authorization: Bearer KEY (at least 16 characters; repeat "
     "the flag, the variable takes a comma-separated list); none: the device API answers 403",
     "none", apply_api_keys, true},
    {"--cors-origin", "NEWSPUSH_BRIDGE_CORS_ORIGINS", "ORIGIN",
     "a web page's origin (http[s]://HOST[:PORT]) allowed to call the device API from a browser "
     "(CORS; the demo page holds a demo key; repeat the flag, the variable takes a "
     "comma-separated list)",
     "none", apply_cors_origins},
    {"--log-key", "NEWSPUSH_BRIDGE_LOG_KEY", "KEY", "the history stream newspushd writes",
     "news:log", apply_nonempty<&BridgeConfig::log_key>},
    {"--key-prefix", "NEWSPUSH_BRIDGE_KEY_PREFIX", "PREFIX",
     "prefix of the bridge's own Redis keys (devices, category sets, accepted records, the "
     "dead-letter stream)",
     "bridge:", apply_nonempty<&BridgeConfig::key_prefix>},
    {"--group", "NEWSPUSH_BRIDGE_GROUP", "NAME",
     "the consumer group every bridge process shares (created at the stream's end on first start)",
     "newspush-bridge", apply_nonempty<&BridgeConfig::group>},
    {"--consumer", "NEWSPUSH_BRIDGE_CONSUMER", "NAME", "this process's name in the group",
     "HOSTNAME-PID", apply_nonempty<&BridgeConfig::consumer>},
    {"--claim-after", "NEWSPUSH_BRIDGE_CLAIM_AFTER", "DURATION",
     "an entry another bridge took and left unacknowledged this long is claimed (XAUTOCLAIM)",
     "60s", apply_claim_after},
    {"--max-attempts", "NEWSPUSH_BRIDGE_MAX_ATTEMPTS", "N",
     "sends to one device for one article before it goes to the dead-letter stream", "8",
     apply_size<&BridgeConfig::max_attempts, 1, 1000>},
    {"--max-queue", "NEWSPUSH_BRIDGE_MAX_QUEUE", "N",
     "sends queued for the providers; past it no more of the log is read", "10000",
     apply_size<&BridgeConfig::max_queue, 10, 10000000>},
    {"--ttl", "NEWSPUSH_BRIDGE_TTL", "DURATION",
     "how long a provider keeps an undelivered notification", "24h", apply_ttl},
    {"--fcm-credentials", "NEWSPUSH_BRIDGE_FCM_CREDENTIALS", "FILE",
     "FCM service-account JSON: enables FCM", "none",
     apply_nonempty<&BridgeConfig::fcm_credentials>},
    {"--fcm-endpoint", "NEWSPUSH_BRIDGE_FCM_ENDPOINT", "URL",
     "FCM's HTTP v1 base URL (tests and staging)", "https://fcm.googleapis.com",
     apply_nonempty<&BridgeConfig::fcm_endpoint>},
    {"--fcm-concurrency", "NEWSPUSH_BRIDGE_FCM_CONCURRENCY", "N",
     "FCM requests in flight, and its connections per host (HTTP/1.1: one request each)", "64",
     apply_size<&BridgeConfig::fcm_concurrency, 1, 100000>},
    {"--fcm-topics", "NEWSPUSH_BRIDGE_FCM_TOPICS", "BOOL",
     "also send each article once to the FCM topic named after its category (breaking news "
     "besides to the topic \"breaking\"), for apps subscribed to topics; registered FCM "
     "devices are still sent to one by one",
     "false", apply_bool<&BridgeConfig::fcm_topics>, false, true},
    {"--fcm-rate", "NEWSPUSH_BRIDGE_FCM_RATE", "N",
     "FCM sends per second at most (0: unlimited); the rest wait queued", "0",
     apply_size<&BridgeConfig::fcm_rate, 0, 1000000>},
    {"--apns-key", "NEWSPUSH_BRIDGE_APNS_KEY", "FILE",
     "APNs .p8 signing key: enables APNs, with --apns-key-id, --apns-team-id and --apns-topic",
     "none", apply_nonempty<&BridgeConfig::apns_key>},
    {"--apns-key-id", "NEWSPUSH_BRIDGE_APNS_KEY_ID", "ID", "the key's id (kid)", "none",
     apply_nonempty<&BridgeConfig::apns_key_id>},
    {"--apns-team-id", "NEWSPUSH_BRIDGE_APNS_TEAM_ID", "ID", "the team id (iss)", "none",
     apply_nonempty<&BridgeConfig::apns_team_id>},
    {"--apns-topic", "NEWSPUSH_BRIDGE_APNS_TOPIC", "BUNDLE", "the app's bundle id (apns-topic)",
     "none", apply_nonempty<&BridgeConfig::apns_topic>},
    {"--apns-endpoint", "NEWSPUSH_BRIDGE_APNS_ENDPOINT", "URL", "APNs base URL",
     "https://api.push.apple.com", apply_nonempty<&BridgeConfig::apns_endpoint>},
    {"--apns-concurrency", "NEWSPUSH_BRIDGE_APNS_CONCURRENCY", "N",
     "APNs streams in flight (HTTP/2, on at most 4 connections)", "256",
     apply_size<&BridgeConfig::apns_concurrency, 1, 100000>},
    {"--apns-rate", "NEWSPUSH_BRIDGE_APNS_RATE", "N",
     "APNs sends per second at most (0: unlimited); the rest wait queued", "0",
     apply_size<&BridgeConfig::apns_rate, 0, 1000000>},
    {"--vapid-key", "NEWSPUSH_BRIDGE_VAPID_KEY", "FILE",
     "VAPID P-256 private key (PEM, or the raw base64url scalar web-push tools print): enables "
     "Web Push",
     "none", apply_nonempty<&BridgeConfig::vapid_key>},
    {"--vapid-subject", "NEWSPUSH_BRIDGE_VAPID_SUBJECT", "URL",
     "VAPID contact (sub): mailto: or https:", "mailto:push@localhost", apply_vapid_subject},
    {"--webpush-concurrency", "NEWSPUSH_BRIDGE_WEBPUSH_CONCURRENCY", "N",
     "Web Push requests in flight, and connections per push service host (HTTP/1.1)", "64",
     apply_size<&BridgeConfig::webpush_concurrency, 1, 100000>},
    {"--webpush-rate", "NEWSPUSH_BRIDGE_WEBPUSH_RATE", "N",
     "Web Push sends per second at most, all push services together (0: unlimited); the rest "
     "wait queued",
     "0", apply_size<&BridgeConfig::webpush_rate, 0, 1000000>},
    {"--webpush-allow-http", "NEWSPUSH_BRIDGE_WEBPUSH_ALLOW_HTTP", "BOOL",
     "accept http:// subscription endpoints (loopback test services only)", "false",
     apply_bool<&BridgeConfig::webpush_allow_http>},
    {"--provider-ca", "NEWSPUSH_BRIDGE_PROVIDER_CA", "FILE",
     "a CA bundle trusted for every provider connection, besides the system's", "none",
     apply_nonempty<&BridgeConfig::provider_ca>},
    {"--log-level", "NEWSPUSH_BRIDGE_LOG_LEVEL", "LEVEL", "debug, info, warn or error", "info",
     apply_log_level},
};

void apply(const Option& option, BridgeConfig& config, const std::string& value,
           const std::string& source) {
  if (auto error = option.apply(config, value); !error.empty())
    throw ConfigError(source + ": invalid value" + (option.secret ? "" : " '" + value + "'") +
                      ": " + error);
}

std::string default_consumer() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::string("bridge").copy(host, 6);
  return std::string(host) + "-" + std::to_string(getpid());
}

void check_config(BridgeConfig& config) {
  if (config.redis.sentinels.empty() != config.redis.sentinel_master.empty())
    throw ConfigError(config.redis.sentinels.empty()
                          ? "--redis-master: needs --redis-sentinel, the sentinels to ask"
                          : "--redis-sentinel: needs --redis-master, the name of the primary");
  bool apns_any = !config.apns_key.empty() || !config.apns_key_id.empty() ||
                  !config.apns_team_id.empty() || !config.apns_topic.empty();
  bool apns_all = !config.apns_key.empty() && !config.apns_key_id.empty() &&
                  !config.apns_team_id.empty() && !config.apns_topic.empty();
  if (apns_any && !apns_all)
    throw ConfigError(
        "--apns-key: APNs needs all of --apns-key, --apns-key-id, --apns-team-id "
        "and --apns-topic");
  if (config.fcm_credentials.empty() && !apns_all && config.vapid_key.empty())
    throw ConfigError(
        "no provider credentials: give --fcm-credentials, --apns-key (with "
        "--apns-key-id, --apns-team-id, --apns-topic) or --vapid-key");
  if (config.fcm_topics && config.fcm_credentials.empty())
    throw ConfigError("--fcm-topics: needs --fcm-credentials");
  if (config.consumer.empty()) config.consumer = default_consumer();
}

}  // namespace

ConfigAction parse_bridge_config(const std::vector<std::string>& args, const EnvLookup& env,
                                 BridgeConfig& config) {
  auto action = options::parse<ConfigError>(
      args, env, std::span<const Option>(kOptions),
      [&config](const Option& option, const std::string& value, const std::string& source) {
        apply(option, config, value, source);
      });
  if (action == ConfigAction::run) check_config(config);
  return action;
}

std::string bridge_help_text() {
  return options::render_help(
      "Usage: newspush-bridge [OPTIONS]\n"
      "Turns the article log (the history stream newspushd writes) into push notifications:\n"
      "FCM, APNs and Web Push, each enabled by its credentials. HTTP: the device API\n"
      "(PUT/GET/DELETE /api/v1/devices/{id}), /healthz, /readyz, /metrics.\n"
      "Every option can also be set by the environment variable shown; the flag wins.\n\n"
      
      "Options:\n",
      std::span<const Option>(kOptions));
}

}  // namespace newspush::bridge

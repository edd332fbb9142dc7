#pragma once
// newspush-bridge's configuration: every setting has a default, a --flag and a NEWSPUSH_BRIDGE_*
// variable, declared once in config.cpp, which also generates --help from the same table (the
// pattern of server/config.cpp; the bridge does not include server/ code).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/option_table.hpp"
#include "common/redis_url.hpp"

namespace newspush::bridge {

struct BridgeConfig {
  RedisEndpoint redis;  // redis://127.0.0.1:6379
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8090;  // 0: any free port (the bound one is logged)
  std::vector<std::string> api_keys;
  // Pages allowed to call the device API from a browser (--cors-origin).
  std::vector<std::string> cors_origins;
  std::string log_key = "news:log";    // the history stream newspushd writes
  std::string key_prefix = "bridge:";  // devices, accepted records, dead letters
  std::string group = "newspush-bridge";
  std::string consumer;  // empty: hostname-pid
  std::chrono::milliseconds claim_after{60000};
  std::size_t max_attempts = 8;
  std::size_t max_queue = 10000;  // queued sends, all providers: past it the log waits
  std::string fcm_credentials;
  std::string fcm_endpoint = "https://fcm.googleapis.com";
  std::string apns_key, apns_key_id, apns_team_id, apns_topic;
  std::string apns_endpoint = "https://api.push.apple.com";
  std::string vapid_key;
  std::string vapid_subject = "mailto:push@localhost";
  std::string provider_ca;
  std::size_t fcm_concurrency = 64, apns_concurrency = 256, webpush_concurrency = 64;
  std::size_t fcm_rate = 0, apns_rate = 0, webpush_rate = 0;  // sends per second; 0: unlimited
  bool fcm_topics = false;  // each article also to the FCM topic of its category
  bool webpush_allow_http = false;  // http:// endpoints (loopback fakes in tests)
  std::chrono::seconds ttl{86400};
  std::string log_level = "info";
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using ConfigAction = options::Action;
using EnvLookup = options::EnvLookup;

// Environment first, then the flags (the flag wins). Throws ConfigError with a one-line message.
ConfigAction parse_bridge_config(const std::vector<std::string>& args, const EnvLookup& env,
                                 BridgeConfig& config);
std::string bridge_help_text();

}  // namespace newspush::bridge

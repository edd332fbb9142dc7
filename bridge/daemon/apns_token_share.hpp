#pragma once
// One APNs provider token for every bridge using one key. APNs answers 429
// TooManyProviderTokenUpdates when a key's token changes within 20 minutes of the last change, so
// a restarted bridge, or a second one, must not sign its own: the token lives in Redis, in the
// hash <key-prefix>apns-token:<team>:<key-id> (fields token, iat in Unix seconds), and a bridge
// replaces it only when it is older than 40 minutes (or missing). The replacement is one Lua
// script (read, compare, write), so bridges racing to replace it end up with one token.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "bridge/daemon/apns_provider.hpp"
#include "bridge/push/apns.hpp"
#include "common/redis/redis_command_client.hpp"

namespace newspush::bridge {

struct ApnsTokenShareOptions {
  std::string key_prefix = "bridge:";
  std::chrono::seconds replace_after{std::chrono::minutes(40)};
  // APNs calls the token expired: replaced if at least this old (a younger one is APNs' change
  // limit, and was just made by some bridge: it is read again instead).
  std::chrono::seconds min_change_interval{std::chrono::minutes(20)};
  std::chrono::seconds check_every{std::chrono::minutes(1)};
  // Asked again no sooner than this after a failed or useless read (Redis down: not per send).
  std::chrono::milliseconds min_read_interval{500};
};

class ApnsTokenShare {
 public:
  // `redis` and `provider` outlive it; the provider is switched to shared tokens here.
  ApnsTokenShare(boost::asio::any_io_executor executor, redis::RedisCommandClient& redis,
                 ApnsTokenSigner signer, ApnsProvider& provider, ApnsTokenShareOptions options);
  ~ApnsTokenShare();
  ApnsTokenShare(const ApnsTokenShare&) = delete;
  ApnsTokenShare& operator=(const ApnsTokenShare&) = delete;

  void start();  // reads (or makes) the token now, then checks it every check_every
  void stop();

  static std::string redis_key(const std::string& key_prefix, const ApnsTokenSigner& signer);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace newspush::bridge

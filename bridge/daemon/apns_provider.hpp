#pragma once
// Apple Push Notification service: one HTTP/2 POST {endpoint}/3/device/{token} per device, many
// concurrent streams on the HttpClient's few connections (its max_connections_per_host), signed
// with an ES256 provider token that is replaced every 40 minutes and never more often than every
// 20 (APNs answers 429 TooManyProviderTokenUpdates to faster changes).
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "bridge/daemon/http_client.hpp"
#include "bridge/daemon/provider.hpp"
#include "bridge/push/apns.hpp"

namespace newspush::bridge {

struct ApnsProviderOptions {
  std::string endpoint = "https://api.push.apple.com";  // --apns-endpoint
  std::string topic;                                    // --apns-topic: the app's bundle id
  std::size_t max_in_flight = 1000;                     // sends started and not yet answered
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::seconds time_to_live{std::chrono::hours(24)};  // apns-expiration = now + this
  // APNs refuses a token older than an hour, and one replaced within 20 minutes of the last.
  std::chrono::seconds token_refresh_interval{std::chrono::minutes(40)};
  std::chrono::seconds min_token_interval{std::chrono::minutes(20)};
};

class ApnsProvider final : public Provider {
 public:
  // `http` outlives the provider (the daemon owns both); requests ask it for HTTP/2.
  ApnsProvider(boost::asio::any_io_executor executor, HttpClient& http, ApnsTokenSigner signer,
               ApnsProviderOptions options);
  ~ApnsProvider() override;

  Platform platform() const override { return Platform::apns; }
  std::size_t capacity() const override;
  void send(const ArticleNotification& article, const DeviceTarget& device,
            SendCallback done) override;
  void stop() override;

  // Provider tokens signed so far, for /metrics and the tests (none once tokens are shared).
  std::size_t provider_tokens_made() const;

  // Every process using one APNs key must use one provider token, or APNs answers 429
  // TooManyProviderTokenUpdates. After share_tokens() the provider signs none of its own: it uses
  // what set_shared_token() hands it (the daemon keeps it in Redis, apns_token_share.hpp) and
  // calls `wanted` when it has none or its token is due (older than token_refresh_interval),
  // when APNs refused a change made elsewhere (TooManyProviderTokenUpdates), or called it expired.
  enum class TokenWant : std::uint8_t { missing_or_due, refused_change, expired };
  void share_tokens(std::function<void(TokenWant)> wanted);
  void set_shared_token(std::string token, std::chrono::system_clock::time_point issued_at);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// What an APNs answer means (exposed for the tests): 200 accepted; 410 and 400 BadDeviceToken
// dead_token; 429, 5xx, no answer and the provider-token 403s (ExpiredProviderToken,
// InvalidProviderToken, MissingProviderToken: the credentials, not the device) retry (429
// TooManyProviderTokenUpdates after at least a second); any other
// status rejected with the JSON "reason".
SendResult classify_apns_response(const HttpResponse& response,
                                  std::chrono::system_clock::time_point now);

}  // namespace newspush::bridge

#pragma once
// Firebase Cloud Messaging HTTP v1: one POST {endpoint}/v1/projects/{project_id}/messages:send per
// device, with an OAuth2 access token obtained from the service account (an RS256 assertion
// POSTed to its token_uri), kept until shortly before it expires. One token request at a time:
// sends arriving meanwhile wait for it.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "bridge/daemon/http_client.hpp"
#include "bridge/daemon/provider.hpp"
#include "bridge/push/fcm.hpp"

namespace newspush::bridge {

struct FcmProviderOptions {
  std::string endpoint = "https://fcm.googleapis.com";  // --fcm-endpoint
  std::size_t max_in_flight = 200;                      // sends started and not yet answered
  std::chrono::milliseconds request_timeout{10'000};    // each message and token request
  // A token is replaced this long before its expiry (at most half its lifetime before).
  std::chrono::seconds token_refresh_margin{std::chrono::minutes(5)};
  FcmOptions message;  // time to live
};

class FcmProvider final : public Provider {
 public:
  // `http` outlives the provider (the daemon owns both).
  FcmProvider(boost::asio::any_io_executor executor, HttpClient& http, FcmServiceAccount account,
              FcmProviderOptions options);
  ~FcmProvider() override;

  Platform platform() const override { return Platform::fcm; }
  std::size_t capacity() const override;
  void send(const ArticleNotification& article, const DeviceTarget& device,
            SendCallback done) override;
  void stop() override;

  // Token requests made so far (each answered or not), for /metrics and the tests.
  std::size_t token_requests() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// What an FCM answer means (exposed for the tests): 200 accepted; 404 or an UNREGISTERED
// errorCode dead_token; 429 and 5xx retry (with Retry-After); no answer retry; any other status
// rejected with the error's status or errorCode and message. 401 is handled before (a new token,
// once).
SendResult classify_fcm_response(const HttpResponse& response,
                                 std::chrono::system_clock::time_point now);

}  // namespace newspush::bridge

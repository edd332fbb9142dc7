#include "bridge/daemon/web_push_provider.hpp"


#include "bridge/daemon/retry_after.hpp"
#include "bridge/push/subscription.hpp"
#include "bridge/push/web_push_crypto.hpp"
#include "bridge/push/web_push_payload.hpp"

namespace newspush::bridge {

SendResult classify_web_push_answer(const HttpResponse& response) {
  SendResult result;
  result.http_status = response.status;
  result.latency = response.latency;
  int status = response.status;
  if (status == 200 || status == 201 || status == 202) {
    result.outcome = SendOutcome::accepted;
  } else if (status == 404 || status == 410) {
    result.outcome = SendOutcome::dead_token;
    result.reason = status == 404 ? "not_found" : "gone";
  } else if (status == 0 || status == 429 || status >= 500) {
    result.outcome = SendOutcome::retry;
    result.reason = status == 0 ? (response.error.empty() ? "no_answer" : response.error)
                                : "http_" + std::to_string(status);
    result.retry_after =
        parse_retry_after(response.header("retry-after"), std::chrono::system_clock::now());
  } else {
    result.outcome = SendOutcome::rejected;
    // The push service's word, shortened: it goes to the dead-letter stream.
    result.reason = "http_" + std::to_string(status);
    if (!response.body.empty()) result.reason += ": " + response.body.substr(0, 200);
  }
  return result;
}

WebPushProvider::WebPushProvider(boost::asio::any_io_executor executor, HttpClient& http,
                                 VapidSigner signer, WebPushOptions options)
    : executor_(std::move(executor)), http_(http), signer_(std::move(signer)), options_(options) {}

WebPushProvider::~WebPushProvider() { *alive_ = false; }

std::size_t WebPushProvider::capacity() const {
  return free_capacity(stopped_, in_flight_, options_.concurrency);
}

void WebPushProvider::send(const ArticleNotification& article, const DeviceTarget& device,
                           SendCallback done) {
  auto refuse = [&](std::string reason) {
    answer_later(executor_, std::move(done), SendOutcome::rejected, std::move(reason));
  };
  if (stopped_) return answer_later(executor_, std::move(done), SendOutcome::retry, "stopping");
  SubscriptionPolicy policy;
  policy.allow_http = options_.allow_http;
  auto subscription = parse_subscription(device.subscription, policy);
  if (!subscription.ok())
    return refuse("bad_subscription: " + std::string(to_string(subscription.error)));
  auto payload = build_web_push_payload(article);
  if (!payload.ok()) return refuse("payload: " + std::string(to_string(payload.error)));
  auto encrypted = encrypt_web_push(payload.json, subscription.subscription->keys);
  if (!encrypted.ok()) return refuse("encrypt: " + std::string(to_string(encrypted.error)));
  auto authorization = signer_.authorization(subscription.subscription->url.origin,
                                             std::chrono::system_clock::now());
  if (!authorization) return refuse("vapid_signing_failed");
  auto headers = build_web_push_headers(article, options_.ttl);

  HttpRequest request;
  request.method = "POST";
  request.url = subscription.subscription->endpoint;
  request.timeout = options_.timeout;
  request.body = std::move(encrypted.bytes);
  request.headers = {{"Content-Type", "application/octet-stream"},
                     {"Content-Encoding", "aes128gcm"},
                     {"TTL", headers.ttl},
                     {"Urgency", headers.urgency},
                     {"Topic", headers.topic},
                     {"Authorization", *authorization}};
  ++in_flight_;
  http_.perform(std::move(request), [this, alive = std::weak_ptr<bool>(alive_),
                                     done = std::move(done)](HttpResponse response) {
    if (!alive.expired()) --in_flight_;
    done(classify_web_push_answer(response));
  });
}

}  // namespace newspush::bridge

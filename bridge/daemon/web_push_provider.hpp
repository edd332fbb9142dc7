#pragma once
// Web Push (RFC 8030) on HttpClient: the payload encrypted to the subscription (RFC 8291
// aes128gcm), VAPID (RFC 8292) in Authorization, TTL, Urgency and Topic (the article id, so a
// repeated push replaces the pending one). 201/202 (and 200) accepted; 404/410 dead_token;
// 429, 5xx and no answer retry (Retry-After honoured); any other status rejected.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>

#include "bridge/daemon/http_client.hpp"
#include "bridge/daemon/provider.hpp"
#include "bridge/push/vapid.hpp"

namespace newspush::bridge {

struct WebPushOptions {
  std::size_t concurrency = 64;
  std::chrono::seconds ttl{86400};
  bool allow_http = false;  // http:// endpoints (loopback test services)
  std::chrono::milliseconds timeout{10000};
};

class WebPushProvider : public Provider {
 public:
  WebPushProvider(boost::asio::any_io_executor executor, HttpClient& http, VapidSigner signer,
                  WebPushOptions options);
  ~WebPushProvider() override;
  Platform platform() const override { return Platform::webpush; }
  std::size_t capacity() const override;
  void send(const ArticleNotification& article, const DeviceTarget& device,
            SendCallback done) override;
  void stop() override { stopped_ = true; }

 private:

  boost::asio::any_io_executor executor_;
  HttpClient& http_;
  VapidSigner signer_;
  WebPushOptions options_;
  std::size_t in_flight_ = 0;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// What a push service's answer means (also for tests).
SendResult classify_web_push_answer(const HttpResponse& response);

}  // namespace newspush::bridge

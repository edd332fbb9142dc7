#pragma once
// What the bridge's dispatcher asks of a push provider (FCM, APNs, Web Push). The dispatcher owns
// the queue, the retries and the bookkeeping; a provider only turns one notification for one
// device into one request and says what the provider's answer means. Everything runs on the
// bridge's io_context thread: send() never calls `done` itself, it is called later, exactly
// once, on that thread (also when the provider is stopping: outcome retry, reason "stopping").
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "bridge/push/notification.hpp"

namespace newspush::bridge {

enum class Platform : std::uint8_t { fcm, apns, webpush };
std::string_view to_string(Platform platform);
std::optional<Platform> platform_from_string(std::string_view name);

// A registered device, as a provider needs it.
struct DeviceTarget {
  std::string device_id;
  Platform platform = Platform::fcm;
  std::string token;         // fcm, apns: the registration or device token; fcm topic: its name
  std::string subscription;  // webpush: the browser's PushSubscription JSON
  std::string locale;
  // FCM only (--fcm-topics): a topic message, not a registered device. device_id is then
  // "/topics/NAME", which no device id can be (they have no '/').
  bool fcm_topic = false;
};

enum class SendOutcome : std::uint8_t {
  accepted,    // the provider took it: recorded, never sent again
  retry,       // 429, 5xx, timeout, connection lost: again later (retry_after, else backoff)
  dead_token,  // FCM UNREGISTERED / 404, APNs 410 / 400 BadDeviceToken, Web Push 404 / 410
  rejected,    // any other permanent refusal: to the dead-letter stream with `reason`
};
std::string_view to_string(SendOutcome outcome);

struct SendResult {
  SendOutcome outcome = SendOutcome::accepted;
  int http_status = 0;  // 0: no answer (connection refused or lost, timeout)
  std::string reason;   // the provider's word: "UNREGISTERED", "BadDeviceToken", "timeout", ...
  std::optional<std::chrono::milliseconds> retry_after;  // the provider's Retry-After
  std::chrono::microseconds latency{0};                  // request to answer
};

using SendCallback = std::function<void(SendResult)>;

// What every provider's capacity() says: what its concurrency limit leaves, 0 once stopping.
std::size_t free_capacity(bool stopped, std::size_t in_flight, std::size_t limit);
// An answer given without a request (stopping, an unaddressable device): posted to `executor`,
// so that send() never calls `done` itself.
void answer_later(const boost::asio::any_io_executor& executor, SendCallback done,
                  SendOutcome outcome, std::string reason);

class Provider {
 public:
  virtual ~Provider() = default;
  virtual Platform platform() const = 0;
  // How many more sends it takes now (its concurrency limit minus what is in flight); the
  // dispatcher keeps the rest queued, where a retraction can still cancel them.
  virtual std::size_t capacity() const = 0;
  // One notification to one device. A device the provider cannot address at all (malformed
  // token or subscription) answers rejected, through `done`, like any other outcome.
  virtual void send(const ArticleNotification& article, const DeviceTarget& device,
                    SendCallback done) = 0;
  // No new sends; those in flight still get their callbacks (SIGTERM's drain).
  virtual void stop() = 0;
};

}  // namespace newspush::bridge

#pragma once
// A browser's PushSubscription, as its toJSON() gives it and as a device registers it:
// {"endpoint":"https://...","expirationTime":null,"keys":{"p256dh":"...","auth":"..."}}.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "bridge/push/push_url.hpp"
#include "bridge/push/web_push_crypto.hpp"

namespace newspush::bridge {

inline constexpr std::size_t kMaxSubscriptionJsonBytes = 4096;

enum class SubscriptionError {
  none,
  too_large,
  not_json,
  not_object,
  bad_endpoint,       // missing, not a string, not an absolute URL
  insecure_endpoint,  // http:// while the policy wants https://
  bad_keys,           // "keys" missing or not an object, p256dh or auth not a string
  bad_p256dh,         // see key_error
  bad_auth,
  bad_expiration_time,  // present, not null and not a number
};
std::string_view to_string(SubscriptionError error);

struct SubscriptionPolicy {
  // Real push services are all https; tests and staging may point a subscription at a plain
  // loopback fake.
  bool allow_http = false;
};

struct WebPushSubscription {
  std::string endpoint;
  PushUrl url;
  ReceiverKeys keys;
  std::string p256dh;  // as given, to give the subscription back unchanged
  std::string auth;
};

struct SubscriptionParse {
  SubscriptionError error = SubscriptionError::none;
  KeyError key_error = KeyError::none;  // when error == bad_p256dh
  std::optional<WebPushSubscription> subscription;
  bool ok() const { return error == SubscriptionError::none; }
};

// Unknown members are ignored (browsers may add some). Never throws.
SubscriptionParse parse_subscription(std::string_view json, const SubscriptionPolicy& policy = {});

}  // namespace newspush::bridge

#include "bridge/push/subscription.hpp"

#include <nlohmann/json.hpp>

#include "protocol/bounded_json.hpp"

namespace newspush::bridge {
namespace {

SubscriptionParse failure(SubscriptionError error, KeyError key_error = KeyError::none) {
  return SubscriptionParse{error, key_error, std::nullopt};
}

}  // namespace

std::string_view to_string(SubscriptionError error) {
  switch (error) {
    case SubscriptionError::none:
      return "none";
    case SubscriptionError::too_large:
      return "too_large";
    case SubscriptionError::not_json:
      return "not_json";
    case SubscriptionError::not_object:
      return "not_object";
    case SubscriptionError::bad_endpoint:
      return "bad_endpoint";
    case SubscriptionError::insecure_endpoint:
      return "insecure_endpoint";
    case SubscriptionError::bad_keys:
      return "bad_keys";
    case SubscriptionError::bad_p256dh:
      return "bad_p256dh";
    case SubscriptionError::bad_auth:
      return "bad_auth";
    case SubscriptionError::bad_expiration_time:
      return "bad_expiration_time";
  }
  return "unknown";
}

SubscriptionParse parse_subscription(std::string_view json, const SubscriptionPolicy& policy) {
  if (json.size() > kMaxSubscriptionJsonBytes) return failure(SubscriptionError::too_large);
  bool too_deep = false;
  auto doc = protocol::parse_bounded<nlohmann::json>(json, too_deep);
  if (too_deep || doc.is_discarded()) return failure(SubscriptionError::not_json);
  if (!doc.is_object()) return failure(SubscriptionError::not_object);

  auto endpoint = doc.find("endpoint");
  if (endpoint == doc.end() || !endpoint->is_string())
    return failure(SubscriptionError::bad_endpoint);
  const auto& endpoint_text = endpoint->get_ref<const std::string&>();
  auto url = parse_push_url(endpoint_text);
  if (!url) return failure(SubscriptionError::bad_endpoint);
  if (!url->https && !policy.allow_http) return failure(SubscriptionError::insecure_endpoint);

  if (auto expiration = doc.find("expirationTime");
      expiration != doc.end() && !expiration->is_null() && !expiration->is_number())
    return failure(SubscriptionError::bad_expiration_time);

  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_object()) return failure(SubscriptionError::bad_keys);
  auto p256dh = keys->find("p256dh");
  auto auth = keys->find("auth");
  if (p256dh == keys->end() || !p256dh->is_string() || auth == keys->end() || !auth->is_string())
    return failure(SubscriptionError::bad_keys);
  auto parsed = parse_receiver_keys(p256dh->get_ref<const std::string&>(),
                                    auth->get_ref<const std::string&>());
  if (parsed.error == WebPushError::bad_p256dh)
    return failure(SubscriptionError::bad_p256dh, parsed.key_error);
  if (!parsed.ok()) return failure(SubscriptionError::bad_auth);

  SubscriptionParse result;
  result.subscription.emplace(
      WebPushSubscription{endpoint_text, std::move(*url), std::move(*parsed.keys),
                          p256dh->get<std::string>(), auth->get<std::string>()});
  return result;
}

}  // namespace newspush::bridge

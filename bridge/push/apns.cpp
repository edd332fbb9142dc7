#include "bridge/push/apns.hpp"

#include <stdexcept>

#include "bridge/push/jwt.hpp"

namespace newspush::bridge {
namespace {

bool is_apple_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string unix_seconds_text(std::chrono::system_clock::time_point time) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count());
}

}  // namespace

ApnsTokenSigner::ApnsTokenSigner(P256PrivateKey key, std::string key_id, std::string team_id)
    : key_(std::move(key)), key_id_(std::move(key_id)), team_id_(std::move(team_id)) {
  if (!is_apple_id(key_id_))
    throw std::runtime_error("APNs key id \"" + key_id_ +
                             "\" must be letters and digits (Apple's 10-character key id)");
  if (!is_apple_id(team_id_))
    throw std::runtime_error("APNs team id \"" + team_id_ +
                             "\" must be letters and digits (Apple's 10-character team id)");
}

ApnsTokenSigner ApnsTokenSigner::from_p8(std::string_view pem, std::string key_id,
                                         std::string team_id) {
  return ApnsTokenSigner(P256PrivateKey::from_pem(pem, "APNs key"), std::move(key_id),
                         std::move(team_id));
}

std::optional<std::string> ApnsTokenSigner::provider_token(
    std::chrono::system_clock::time_point issued_at) const {
  nlohmann::ordered_json header = {{"kid", key_id_}};
  nlohmann::ordered_json claims = {
      {"iss", team_id_},
      {"iat",
       std::chrono::duration_cast<std::chrono::seconds>(issued_at.time_since_epoch()).count()}};
  return sign_jwt(JwtAlgorithm::es256, key_.get(), header, claims);
}

std::string apns_collapse_id(std::string_view article_id) {
  return header_safe_id(article_id, kMaxApnsCollapseIdBytes);
}

ApnsRequest build_apns_request(const ArticleNotification& article, const ApnsOptions& options) {
  ApnsRequest request;
  auto render = [&article](const NotificationText& text) {
    nlohmann::ordered_json alert = {{"title", text.title}};
    if (!text.body.empty()) alert["body"] = text.body;
    nlohmann::ordered_json payload = {
        {"aps", {{"alert", std::move(alert)}, {"thread-id", article.category}}},
        {"article_id", article.id},
        {"category", article.category}};
    if (!text.url.empty()) payload["url"] = text.url;
    return dump_json(payload);
  };
  auto fitted = fit_text(article, kMaxApnsPayloadBytes, render);
  if (!fitted.ok()) {
    request.error = fitted.error;
    return request;
  }
  request.payload = std::move(fitted.json);
  request.shortened = fitted.shortened;
  request.headers.priority = article.breaking ? "10" : "5";
  request.headers.collapse_id = apns_collapse_id(article.id);
  request.headers.expiration = unix_seconds_text(options.now + options.time_to_live);
  request.headers.topic = options.topic;
  return request;
}

}  // namespace newspush::bridge

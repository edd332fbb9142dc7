#include "bridge/push/fcm.hpp"

#include <algorithm>
#include <stdexcept>

#include "bridge/push/jwt.hpp"
#include "bridge/push/push_url.hpp"
#include "bridge/push/rsa_key.hpp"
#include "protocol/bounded_json.hpp"

namespace newspush::bridge {
namespace {

constexpr std::size_t kMaxCredentialsBytes = 64 * 1024;
constexpr std::size_t kMaxFcmTargetBytes = 1024;

std::string required_string(const nlohmann::json& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    throw std::runtime_error(std::string("FCM credentials: \"") + name +
                             "\" must be a non-empty string");
  return it->get<std::string>();
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

bool is_url_safe(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string form_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (is_url_safe(c)) {
      out.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

bool is_valid_target(const FcmTarget& target) {
  if (target.value.empty() || target.value.size() > kMaxFcmTargetBytes) return false;
  for (char c : target.value) {
    bool ok = target.kind == FcmTarget::Kind::topic
                  ? is_url_safe(c) || c == '%'
                  // Registration tokens are printable ASCII (letters, digits, '-', '_', ':').
                  : c > 0x20 && c < 0x7f && c != '"' && c != '\\';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

FcmServiceAccount FcmServiceAccount::parse(std::string_view json) {
  if (json.size() > kMaxCredentialsBytes)
    throw std::runtime_error("FCM credentials: file too large");
  bool too_deep = false;
  auto doc = protocol::parse_bounded<nlohmann::json>(json, too_deep);
  if (too_deep || doc.is_discarded() || !doc.is_object())
    throw std::runtime_error("FCM credentials: not a JSON object (a Google service-account file)");
  if (auto type = doc.find("type");
      type != doc.end() && (!type->is_string() || *type != "service_account"))
    throw std::runtime_error("FCM credentials: \"type\" is not \"service_account\"");
  FcmServiceAccount account;
  account.project_id_ = required_string(doc, "project_id");
  account.client_email_ = required_string(doc, "client_email");
  account.token_uri_ = required_string(doc, "token_uri");
  if (!parse_push_url(account.token_uri_))
    throw std::runtime_error("FCM credentials: \"token_uri\" is not an http(s) URL");
  if (auto id = doc.find("private_key_id"); id != doc.end() && id->is_string())
    account.private_key_id_ = id->get<std::string>();
  account.key_ =
      load_rsa_private_key(required_string(doc, "private_key"), "FCM credentials' private_key");
  return account;
}

std::optional<std::string> FcmServiceAccount::assertion(
    std::chrono::system_clock::time_point now) const {
  nlohmann::ordered_json header = {{"typ", "JWT"}};
  if (!private_key_id_.empty()) header["kid"] = private_key_id_;
  nlohmann::ordered_json claims = {{"iss", client_email_},
                                   {"scope", kFcmScope},
                                   {"aud", token_uri_},
                                   {"iat", unix_seconds(now)},
                                   {"exp", unix_seconds(now + kFcmAssertionLifetime)}};
  return sign_jwt(JwtAlgorithm::rs256, key_.get(), header, claims);
}

std::string fcm_token_request_body(std::string_view assertion) {
  return "grant_type=" + form_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
         "&assertion=" + form_encode(assertion);
}

FcmAccessToken parse_fcm_token_response(std::string_view json) {
  FcmAccessToken result;
  bool too_deep = false;
  auto doc = protocol::parse_bounded<nlohmann::json>(json, too_deep);
  if (too_deep || doc.is_discarded() || !doc.is_object()) {
    result.error = "token answer is not a JSON object";
    return result;
  }
  if (auto error = doc.find("error"); error != doc.end()) {
    result.error =
        "token endpoint refused: " + (error->is_string() ? error->get<std::string>() : "error");
    return result;
  }
  auto token = doc.find("access_token");
  auto expires_in = doc.find("expires_in");
  if (token == doc.end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    result.error = "no \"access_token\" string";
    return result;
  }
  if (expires_in == doc.end() || !expires_in->is_number_integer() ||
      expires_in->get<std::int64_t>() <= 0) {
    result.error = "no positive integer \"expires_in\"";
    return result;
  }
  if (auto type = doc.find("token_type");
      type != doc.end() && (!type->is_string() || *type != "Bearer")) {
    result.error = "\"token_type\" is not \"Bearer\"";
    return result;
  }
  result.access_token = token->get<std::string>();
  // Capped at a day: a far-off expiry from a misbehaving endpoint must not pin a dead token.
  result.expires_in =
      std::chrono::seconds(std::min<std::int64_t>(expires_in->get<std::int64_t>(), 86400));
  return result;
}

FittedPayload build_fcm_message(const ArticleNotification& article, const FcmTarget& target,
                                const FcmOptions& options) {
  if (!is_valid_target(target)) return FittedPayload{PayloadError::bad_target, {}, false};
  const char* target_field = target.kind == FcmTarget::Kind::topic ? "topic" : "token";
  std::string ttl = std::to_string(options.time_to_live.count()) + "s";
  auto render = [&](const NotificationText& text) {
    nlohmann::ordered_json notification = {{"title", text.title}};
    if (!text.body.empty()) notification["body"] = text.body;
    if (!text.image.empty()) notification["image"] = text.image;
    // FCM's data values must be strings.
    nlohmann::ordered_json data = {{"article_id", article.id},
                                   {"category", article.category},
                                   {"breaking", article.breaking ? "true" : "false"}};
    if (!text.url.empty()) data["url"] = text.url;
    nlohmann::ordered_json message = {{target_field, target.value},
                                      {"notification", std::move(notification)},
                                      {"data", std::move(data)},
                                      {"android",
                                       {{"priority", article.breaking ? "high" : "normal"},
                                        {"collapse_key", article.id},
                                        {"ttl", ttl}}}};
    return dump_json(nlohmann::ordered_json{{"message", std::move(message)}});
  };
  return fit_text(article, kMaxFcmMessageBytes, render);
}

std::string fcm_send_path(std::string_view project_id) {
  return "/v1/projects/" + form_encode(project_id) + "/messages:send";
}

}  // namespace newspush::bridge

#include "bridge/push/vapid.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/base64url.hpp"
#include "bridge/push/jwt.hpp"

namespace newspush::bridge {
namespace {

bool is_contact_uri(std::string_view subject) {
  if (subject.starts_with("mailto:")) return subject.size() > 7;
  if (subject.starts_with("https://")) return subject.size() > 8;
  return false;
}

std::int64_t unix_seconds(SystemTime time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

// "t=..., k=..." in either order, separated by a comma and optional spaces.
bool split_parameters(std::string_view text, std::string_view& token, std::string_view& key) {
  while (!text.empty()) {
    while (!text.empty() && (text.front() == ' ' || text.front() == ',')) text.remove_prefix(1);
    if (text.empty()) break;
    auto end = text.find(',');
    std::string_view parameter = text.substr(0, end);
    while (!parameter.empty() && parameter.back() == ' ') parameter.remove_suffix(1);
    if (parameter.starts_with("t=") && token.empty()) {
      token = parameter.substr(2);
    } else if (parameter.starts_with("k=") && key.empty()) {
      key = parameter.substr(2);
    } else {
      return false;
    }
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
  }
  return !token.empty() && !key.empty();
}

}  // namespace

VapidSigner::VapidSigner(P256PrivateKey key, std::string subject)
    : key_(std::move(key)),
      subject_(std::move(subject)),
      public_key_base64url_(base64url_encode(key_.public_bytes())) {
  if (!is_contact_uri(subject_)) {
    throw std::runtime_error("VAPID subject \"" + subject_ +
                             "\" must be a mailto: or https: URI (RFC 8292)");
  }
}

VapidSigner VapidSigner::from_pem(std::string_view pem, std::string subject) {
  return VapidSigner(P256PrivateKey::from_pem(pem, "VAPID key"), std::move(subject));
}

VapidSigner VapidSigner::from_base64url(std::string_view scalar, std::string subject) {
  auto parsed = P256PrivateKey::from_base64url(scalar);
  if (!parsed.ok()) {
    throw std::runtime_error("VAPID key: not a base64url P-256 private key (" +
                             std::string(to_string(parsed.error)) + ")");
  }
  return VapidSigner(std::move(*parsed.key), std::move(subject));
}

std::optional<std::string> VapidSigner::authorization(std::string_view audience, SystemTime now,
                                                      std::chrono::seconds lifetime) const {
  SystemTime expires = now + std::min<std::chrono::seconds>(lifetime, kMaxVapidLifetime);
  nlohmann::ordered_json header = {{"typ", "JWT"}};
  nlohmann::ordered_json claims = {
      {"aud", audience}, {"exp", unix_seconds(expires)}, {"sub", subject_}};
  auto token = sign_jwt(JwtAlgorithm::es256, key_.get(), header, claims);
  if (!token) return std::nullopt;
  return "vapid t=" + *token + ", k=" + public_key_base64url_;
}

std::string_view to_string(VapidError error) {
  switch (error) {
    case VapidError::none:
      return "none";
    case VapidError::malformed:
      return "malformed";
    case VapidError::bad_public_key:
      return "bad_public_key";
    case VapidError::bad_token:
      return "bad_token";
    case VapidError::wrong_audience:
      return "wrong_audience";
    case VapidError::expired:
      return "expired";
    case VapidError::too_long:
      return "too_long";
    case VapidError::bad_subject:
      return "bad_subject";
  }
  return "unknown";
}

VapidCheck verify_vapid_authorization(std::string_view header_value, std::string_view audience,
                                      SystemTime now) {
  VapidCheck result;
  auto fail = [&result](VapidError error) {
    result.error = error;
    return result;
  };
  constexpr std::string_view kScheme = "vapid ";
  if (!header_value.starts_with(kScheme)) return fail(VapidError::malformed);
  std::string_view token;
  std::string_view key_text;
  if (!split_parameters(header_value.substr(kScheme.size()), token, key_text))
    return fail(VapidError::malformed);
  auto key = P256PublicKey::from_base64url(key_text);
  if (!key.ok()) return fail(VapidError::bad_public_key);
  result.public_key = std::string(key_text);

  auto verification = verify_jwt(token, JwtAlgorithm::es256, key.key->get());
  if (!verification.ok()) return fail(VapidError::bad_token);
  const auto& claims = verification.claims;
  auto aud = claims.find("aud");
  if (aud == claims.end() || !aud->is_string() || *aud != audience)
    return fail(VapidError::wrong_audience);
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number_integer() ||
      exp->get<std::int64_t>() <= unix_seconds(now))
    return fail(VapidError::expired);
  if (exp->get<std::int64_t>() > unix_seconds(now + kMaxVapidLifetime))
    return fail(VapidError::too_long);
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() ||
      !is_contact_uri(sub->get_ref<const std::string&>()))
    return fail(VapidError::bad_subject);
  result.subject = sub->get<std::string>();
  return result;
}

}  // namespace newspush::bridge

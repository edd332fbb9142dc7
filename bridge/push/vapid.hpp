#pragma once
// VAPID (RFC 8292): the application server identifies itself to a push service with an ES256 JWT
// and its public key: "Authorization: vapid t=<JWT>, k=<base64url public key>".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "bridge/push/p256.hpp"

namespace newspush::bridge {

using SystemTime = std::chrono::system_clock::time_point;

// RFC 8292 section 2: a push service may refuse an "exp" more than 24 hours ahead.
inline constexpr std::chrono::hours kMaxVapidLifetime{24};
inline constexpr std::chrono::hours kDefaultVapidLifetime{12};

class VapidSigner {
 public:
  // Start-up only; throws std::runtime_error. `subject` is the contact the push service may
  // write to: a "mailto:" or "https:" URI (RFC 8292 section 2.1).
  VapidSigner(P256PrivateKey key, std::string subject);
  // A PEM private key (EC or PKCS#8), or the raw 32-byte scalar in base64url (what web-push's
  // generate-vapid-keys prints as the private key).
  static VapidSigner from_pem(std::string_view pem, std::string subject);
  static VapidSigner from_base64url(std::string_view scalar, std::string subject);

  // The header value for a push to `audience` (the endpoint's origin, see push_url.hpp), valid
  // from `now` for `lifetime`, capped at kMaxVapidLifetime (a push service may refuse a longer
  // one). The caller reuses it until near its end. nullopt only if OpenSSL fails.
  std::optional<std::string> authorization(
      std::string_view audience, SystemTime now,
      std::chrono::seconds lifetime = kDefaultVapidLifetime) const;

  // The applicationServerKey a page passes to pushManager.subscribe().
  const std::string& public_key_base64url() const { return public_key_base64url_; }

 private:
  P256PrivateKey key_;
  std::string subject_;
  std::string public_key_base64url_;
};

enum class VapidError {
  none,
  malformed,       // not "vapid t=..., k=..."
  bad_public_key,  // k is not a P-256 point
  bad_token,       // t does not verify with k (form, alg, signature)
  wrong_audience,
  expired,      // exp missing, not a number, or not after now
  too_long,     // exp more than 24 hours after now
  bad_subject,  // sub missing or neither mailto: nor https:
};
std::string_view to_string(VapidError error);

struct VapidCheck {
  VapidError error = VapidError::none;
  std::string public_key;  // k, base64url: which application server this is
  std::string subject;
  bool ok() const { return error == VapidError::none; }
};

// What a push service does with the header (for the tests' fake push service). Never throws.
VapidCheck verify_vapid_authorization(std::string_view header_value, std::string_view audience,
                                      SystemTime now);

}  // namespace newspush::bridge

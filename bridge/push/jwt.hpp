#pragma once
// JSON Web Tokens in compact form (RFC 7515/7519), signed ES256 (VAPID, APNs) or RS256 (FCM's
// OAuth2 assertion) with OpenSSL, and their verification for the fake providers of the tests.
// Why not libjwt (server/auth uses Debian's 1.10): it takes a key only as PEM bytes (jwt_set_alg)
// and reads them again when it signs, so a raw VAPID key would have to be dressed as a PEM first;
// it always adds "typ":"JWT" and sorts the header's members (checked: APNs documents alg and kid
// only); and as a verifier it checks no claim (exp, nbf). Its ES256 signatures are JOSE's r || s,
// so that is no reason. The bridge needs OpenSSL's EVP for RFC 8291 anyway, the keys stay loaded
// once, and signing is one EVP_DigestSign plus the DER to r || s conversion.
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace newspush::bridge {

enum class JwtAlgorithm { es256, rs256 };
std::string_view to_string(JwtAlgorithm algorithm);  // "ES256", "RS256"

// "alg" is written first, then the header's other members in their order, then the claims.
// nullopt only when OpenSSL fails to sign (out of memory, or a key of the wrong kind).
std::optional<std::string> sign_jwt(JwtAlgorithm algorithm, EVP_PKEY* key,
                                    const nlohmann::ordered_json& header_members,
                                    const nlohmann::ordered_json& claims);

enum class JwtError {
  none,
  malformed,        // not three base64url parts, or a part is not a JSON object
  wrong_algorithm,  // the header's "alg" is not the one expected
  bad_signature,
};
std::string_view to_string(JwtError error);

struct JwtVerification {
  JwtError error = JwtError::none;
  nlohmann::json header;
  nlohmann::json claims;
  bool ok() const { return error == JwtError::none; }
};

// Checks the form, the algorithm (the expected one, never the header's word) and the signature;
// the claims are the caller's to judge. Never throws.
JwtVerification verify_jwt(std::string_view token, JwtAlgorithm algorithm, EVP_PKEY* public_key);

}  // namespace newspush::bridge

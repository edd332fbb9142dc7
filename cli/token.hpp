#pragma once
// Connection tokens as a site's backend signs them (JWT, HS256), for `newspush token`: the demo
// mints its reader's token with it. OpenSSL's HMAC signs; newspushd verifies with libjwt, so the
// two sides share no code but common/'s base64url.
#include <cstddef>
#include <string>
#include <string_view>

namespace newspush::cli {

// newspushd refuses shorter HS256 secrets (--token-secret).
inline constexpr std::size_t kMinTokenSecretBytes = 32;

// HMAC-SHA256 of `signing_input` ("header.payload") with `secret`, base64url.
std::string hs256_signature(std::string_view signing_input, std::string_view secret);

// "header.payload.signature" for these claims (a JSON object's text), header
// {"alg":"HS256","typ":"JWT"}.
std::string make_hs256_token(std::string_view claims_json, std::string_view secret);

}  // namespace newspush::cli

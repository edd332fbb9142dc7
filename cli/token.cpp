#include "cli/token.hpp"

#include "common/base64url.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace newspush::cli {

std::string hs256_signature(std::string_view signing_input, std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
            digest, &length)) {
    throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  }
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string make_hs256_token(std::string_view claims_json, std::string_view secret) {
  const std::string input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims_json);
  return input + "." + hs256_signature(input, secret);
}

}  // namespace newspush::cli

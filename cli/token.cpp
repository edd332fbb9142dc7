#include "cli/token.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace newspush::cli {

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16 |
                       static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    if (rest == 2) out += kAlphabet[v >> 6 & 63];
  }
  return out;
}

std::string hs256_signature(std::string_view signing_input, std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
            digest, &length)) {
    throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  }
  return base64url(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string make_hs256_token(std::string_view claims_json, std::string_view secret) {
  const std::string input =
      base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(claims_json);
  return input + "." + hs256_signature(input, secret);
}

}  // namespace newspush::cli

#pragma once
// Connection tokens (JWT) made in tests with OpenSSL alone: keys, PEM files and signatures, never
// with newspushd's verifier, so that a mistake there cannot hide behind the same one here.
#include <openssl/evp.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace newspush::test::tokens {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string write_pem(EVP_PKEY* key, bool private_half);
inline std::string public_pem(EVP_PKEY* key) { return write_pem(key, false); }
inline std::string private_pem(EVP_PKEY* key) { return write_pem(key, true); }

std::string base64url(std::string_view bytes);

// Given "header.payload", returns the signature's bytes.
using Sign = std::function<std::string(std::string_view signing_input)>;
Sign hs256(std::string key);
Sign rs256(EVP_PKEY* key);
// JWS wants an ES256 signature as r || s, 32 bytes each (RFC 7518 3.4), not OpenSSL's DER.
Sign es256(EVP_PKEY* key);
Sign unsigned_token();

// Header and payload given as text, so that tests can write what no JSON library would.
std::string make_token_from_text(std::string_view header, std::string_view payload, const Sign& sign);
std::string make_token(const nlohmann::json& header, const nlohmann::json& payload, const Sign& sign);

}  // namespace newspush::test::tokens

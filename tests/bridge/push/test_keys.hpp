#pragma once
// Keys made for the tests with OpenSSL alone, and a check of JWT signatures that shares no code
// with the bridge's signer.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tests/support/test_tokens.hpp"

namespace newspush::test::bridge_keys {

tokens::Pkey make_p256_key();
// 2048 bits, made once per test process (RSA generation takes a while).
EVP_PKEY* shared_rsa_key();

// The PKCS#8 PEM of a private key (what an APNs .p8 file and a service account carry).
std::string pkcs8_pem(EVP_PKEY* key);

struct DecodedJwt {
  nlohmann::json header;
  nlohmann::json claims;
  bool signature_ok = false;
};
// Splits, decodes and checks the signature with OpenSSL's EVP (ES256: r || s turned back into
// DER here). Fails the calling test (gtest ADD_FAILURE) on a malformed token.
DecodedJwt decode_and_check(std::string_view token, EVP_PKEY* public_key, bool es256);

std::string base64url_decode_or_fail(std::string_view text);

}  // namespace newspush::test::bridge_keys

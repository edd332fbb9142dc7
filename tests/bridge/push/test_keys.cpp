#include "tests/bridge/push/test_keys.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include <memory>

namespace newspush::test::bridge_keys {

tokens::Pkey make_p256_key() {
  return tokens::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

EVP_PKEY* shared_rsa_key() {
  static tokens::Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  return key.get();
}

std::string pkcs8_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
  EXPECT_EQ(PEM_write_bio_PKCS8PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

// Standard base64 via OpenSSL, after mapping the URL-safe alphabet back: independent of the
// bridge's own decoder.
std::string base64url_decode_or_fail(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (standard.size() % 4 != 0) standard.push_back('=');
  std::string out(standard.size(), '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(standard.data()),
                               static_cast<int>(standard.size()));
  if (length < 0) {
    ADD_FAILURE() << "not base64url: " << text;
    return {};
  }
  // EVP_DecodeBlock counts the padding's zero bytes too.
  std::size_t padding = standard.size() - text.size();
  out.resize(static_cast<std::size_t>(length) - padding);
  return out;
}

DecodedJwt decode_and_check(std::string_view token, EVP_PKEY* public_key, bool es256) {
  DecodedJwt result;
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) {
    ADD_FAILURE() << "not a compact JWT: " << token;
    return result;
  }
  result.header = nlohmann::json::parse(base64url_decode_or_fail(token.substr(0, first)));
  result.claims =
      nlohmann::json::parse(base64url_decode_or_fail(token.substr(first + 1, second - first - 1)));
  std::string signature = base64url_decode_or_fail(token.substr(second + 1));
  if (es256) {
    if (signature.size() != 64) {
      ADD_FAILURE() << "ES256 signature of " << signature.size() << " bytes, not 64 (r || s)";
      return result;
    }
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int length = i2d_ECDSA_SIG(sig, &der);
    signature.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  std::string_view input = token.substr(0, second);
  result.signature_ok =
      EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, public_key) == 1 &&
      EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  return result;
}

}  // namespace newspush::test::bridge_keys

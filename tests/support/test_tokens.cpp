#include "tests/support/test_tokens.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <stdexcept>

namespace newspush::test::tokens {

namespace {

std::string digest_sign(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, data, input.size()) != 1)
    throw std::runtime_error("EVP_DigestSign failed");
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     data, input.size()) != 1)
    throw std::runtime_error("EVP_DigestSign failed");
  signature.resize(length);
  return signature;
}

}  // namespace

std::string write_pem(EVP_PKEY* key, bool private_half) {
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
  int written =
      private_half ? PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                   : PEM_write_bio_PUBKEY(out.get(), key);
  if (written != 1) throw std::runtime_error("PEM_write failed");
  char* data = nullptr;
  long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

std::string base64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(bytes.data()),
                               static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(length));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

Sign hs256(std::string key) {
  return [key = std::move(key)](std::string_view input) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
    return std::string(reinterpret_cast<char*>(mac), length);
  };
}

Sign rs256(EVP_PKEY* key) {
  return [key](std::string_view input) { return digest_sign(key, input); };
}

Sign es256(EVP_PKEY* key) {
  return [key](std::string_view input) {
    std::string der = digest_sign(key, input);
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> signature(
        d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())), &ECDSA_SIG_free);
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(signature.get(), &r, &s);
    std::string raw(64, '\0');
    BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    return raw;
  };
}

Sign unsigned_token() {
  return [](std::string_view) { return std::string(); };
}

std::string make_token_from_text(std::string_view header, std::string_view payload,
                                 const Sign& sign) {
  std::string input = base64url(header) + '.' + base64url(payload);
  return input + '.' + base64url(sign(input));
}
std::string make_token(const nlohmann::json& header, const nlohmann::json& payload,
                       const Sign& sign) {
  return make_token_from_text(header.dump(), payload.dump(), sign);
}

}  // namespace newspush::test::tokens

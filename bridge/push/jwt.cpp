#include "bridge/push/jwt.hpp"

#include "common/base64url.hpp"
#include "bridge/push/openssl_types.hpp"
#include "protocol/bounded_json.hpp"

namespace newspush::bridge {
namespace {

constexpr std::size_t kMaxTokenBytes = 16 * 1024;
constexpr int kEs256HalfBytes = 32;

std::optional<std::string> digest_sign(EVP_PKEY* key, std::string_view input) {
  ossl::DigestContext context(EVP_MD_CTX_new());
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t length = 0;
  if (!context || EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, data, input.size()) != 1)
    return std::nullopt;
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(), ossl::bytes(signature), &length, data, input.size()) != 1)
    return std::nullopt;
  signature.resize(length);
  return signature;
}

bool digest_verify(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  ossl::DigestContext context(EVP_MD_CTX_new());
  return context && EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

// OpenSSL signs ECDSA as DER; JOSE wants r and s as two fixed 32-byte halves (RFC 7518 3.4).
std::optional<std::string> der_to_jose(std::string_view der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  ossl::EcdsaSignature signature(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  if (!signature) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(signature.get(), &r, &s);
  std::string raw(2 * kEs256HalfBytes, '\0');
  if (BN_bn2binpad(r, ossl::bytes(raw), kEs256HalfBytes) != kEs256HalfBytes ||
      BN_bn2binpad(s, ossl::bytes(raw) + kEs256HalfBytes, kEs256HalfBytes) != kEs256HalfBytes)
    return std::nullopt;
  return raw;
}

std::optional<std::string> jose_to_der(std::string_view raw) {
  if (raw.size() != 2 * kEs256HalfBytes) return std::nullopt;
  const auto* data = reinterpret_cast<const unsigned char*>(raw.data());
  ossl::BigNum r(BN_bin2bn(data, kEs256HalfBytes, nullptr));
  ossl::BigNum s(BN_bin2bn(data + kEs256HalfBytes, kEs256HalfBytes, nullptr));
  ossl::EcdsaSignature signature(ECDSA_SIG_new());
  if (!r || !s || !signature || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1)
    return std::nullopt;
  r.release();  // owned by the signature now
  s.release();
  int length = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (length <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = ossl::bytes(der);
  if (i2d_ECDSA_SIG(signature.get(), &out) != length) return std::nullopt;
  return der;
}

std::optional<nlohmann::json> decode_object(std::string_view part) {
  auto text = base64url_decode(part);
  if (!text) return std::nullopt;
  bool too_deep = false;
  auto value = protocol::parse_bounded<nlohmann::json>(*text, too_deep);
  if (too_deep || value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

}  // namespace

std::string_view to_string(JwtAlgorithm algorithm) {
  return algorithm == JwtAlgorithm::es256 ? "ES256" : "RS256";
}

std::string_view to_string(JwtError error) {
  switch (error) {
    case JwtError::none:
      return "none";
    case JwtError::malformed:
      return "malformed";
    case JwtError::wrong_algorithm:
      return "wrong_algorithm";
    case JwtError::bad_signature:
      return "bad_signature";
  }
  return "unknown";
}

std::optional<std::string> sign_jwt(JwtAlgorithm algorithm, EVP_PKEY* key,
                                    const nlohmann::ordered_json& header_members,
                                    const nlohmann::ordered_json& claims) {
  nlohmann::ordered_json header = {{"alg", to_string(algorithm)}};
  for (const auto& [name, value] : header_members.items())
    if (name != "alg") header[name] = value;
  // Replace, not throw: a claim is never invalid UTF-8 here, but a token is no place to fail.
  constexpr auto kReplace = nlohmann::ordered_json::error_handler_t::replace;
  std::string input = base64url_encode(header.dump(-1, ' ', false, kReplace)) + '.' +
                      base64url_encode(claims.dump(-1, ' ', false, kReplace));
  auto signature = digest_sign(key, input);
  if (signature && algorithm == JwtAlgorithm::es256) signature = der_to_jose(*signature);
  if (!signature) {
    ERR_clear_error();
    return std::nullopt;
  }
  return input + '.' + base64url_encode(*signature);
}

JwtVerification verify_jwt(std::string_view token, JwtAlgorithm algorithm, EVP_PKEY* public_key) {
  JwtVerification result;
  auto fail = [&result](JwtError error) {
    ERR_clear_error();
    result.error = error;
    return result;
  };
  if (token.size() > kMaxTokenBytes) return fail(JwtError::malformed);
  auto first_dot = token.find('.');
  auto second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos)
    return fail(JwtError::malformed);
  auto header = decode_object(token.substr(0, first_dot));
  auto claims = decode_object(token.substr(first_dot + 1, second_dot - first_dot - 1));
  auto signature = base64url_decode(token.substr(second_dot + 1));
  if (!header || !claims || !signature) return fail(JwtError::malformed);
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || *alg != to_string(algorithm))
    return fail(JwtError::wrong_algorithm);
  if (algorithm == JwtAlgorithm::es256) {
    signature = jose_to_der(*signature);  // a DER signature (the classic mistake) fails here
    if (!signature) return fail(JwtError::bad_signature);
  }
  if (!digest_verify(public_key, token.substr(0, second_dot), *signature))
    return fail(JwtError::bad_signature);
  result.header = std::move(*header);
  result.claims = std::move(*claims);
  return result;
}

}  // namespace newspush::bridge

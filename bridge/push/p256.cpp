#include "bridge/push/p256.hpp"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <stdexcept>

#include "common/base64url.hpp"

namespace newspush::bridge {
namespace {

constexpr const char* kGroupName = "prime256v1";

P256PublicKey::Parsed public_failure(KeyError error) {
  ERR_clear_error();
  return P256PublicKey::Parsed{error, std::nullopt};
}
P256PrivateKey::Parsed private_failure(KeyError error) {
  ERR_clear_error();
  return P256PrivateKey::Parsed{error, std::nullopt};
}

// The uncompressed public point of any P-256 EVP key.
std::optional<std::string> uncompressed_public(EVP_PKEY* key) {
  // A PEM may carry the compressed form; JWTs' k= and RFC 8291's keyid want 65 bytes.
  if (EVP_PKEY_set_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                     "uncompressed") != 1)
    return std::nullopt;
  std::string out(kP256PublicKeyBytes, '\0');
  std::size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, ossl::bytes(out), out.size(),
                                      &length) != 1 ||
      length != kP256PublicKeyBytes || out[0] != 0x04)
    return std::nullopt;
  return out;
}

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  char name[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof name, &length) != 1) return false;
  std::string_view group(name, length);
  return group == "prime256v1" || group == "P-256" || group == "secp256r1";
}

// Builds an EVP key from OSSL_PARAMs, then has OpenSSL check it (point on the curve; for a key
// pair, the scalar in range and matching the point).
ossl::Pkey key_from_params(const OSSL_PARAM* params, int selection) {
  ossl::PkeyContext context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &raw, selection, const_cast<OSSL_PARAM*>(params)) != 1)
    return nullptr;
  ossl::Pkey key(raw);
  ossl::PkeyContext check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  // The quick public check (on the curve, not the point at infinity) is the whole check on
  // P-256, whose cofactor is 1; the full one adds a scalar multiplication per key (n * Q), a
  // cost paid for every subscription a fan-out reads.
  int valid = !check                          ? 0
              : selection == EVP_PKEY_KEYPAIR ? EVP_PKEY_pairwise_check(check.get())
                                              : EVP_PKEY_public_check_quick(check.get());
  if (valid != 1) return nullptr;
  return key;
}

}  // namespace

std::string_view to_string(KeyError error) {
  switch (error) {
    case KeyError::none:
      return "none";
    case KeyError::bad_encoding:
      return "bad_encoding";
    case KeyError::bad_length:
      return "bad_length";
    case KeyError::not_uncompressed:
      return "not_uncompressed";
    case KeyError::not_on_curve:
      return "not_on_curve";
    case KeyError::crypto_failure:
      return "crypto_failure";
  }
  return "unknown";
}

P256PublicKey::Parsed P256PublicKey::from_bytes(std::string_view point) {
  if (point.size() != kP256PublicKeyBytes) return public_failure(KeyError::bad_length);
  if (point[0] != 0x04) return public_failure(KeyError::not_uncompressed);
  std::string bytes(point);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(kGroupName),
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, bytes.data(), bytes.size()),
      OSSL_PARAM_construct_end()};
  ossl::Pkey key = key_from_params(params, EVP_PKEY_PUBLIC_KEY);
  if (!key) return public_failure(KeyError::not_on_curve);
  return Parsed{KeyError::none, P256PublicKey(std::move(key), std::move(bytes))};
}

P256PublicKey::Parsed P256PublicKey::from_base64url(std::string_view text) {
  auto bytes = base64url_decode_maybe_padded(text);
  if (!bytes) return public_failure(KeyError::bad_encoding);
  return from_bytes(*bytes);
}

std::optional<P256PrivateKey> P256PrivateKey::generate() {
  ossl::Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return std::nullopt;
  auto public_bytes = uncompressed_public(key.get());
  if (!public_bytes) return std::nullopt;
  return P256PrivateKey(std::move(key), std::move(*public_bytes));
}

P256PrivateKey::Parsed P256PrivateKey::from_scalar(std::string_view scalar) {
  if (scalar.size() != kP256PrivateKeyBytes) return private_failure(KeyError::bad_length);
  ossl::BigNum secret(BN_bin2bn(reinterpret_cast<const unsigned char*>(scalar.data()),
                                static_cast<int>(scalar.size()), nullptr));
  ossl::EcGroup group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  if (!secret || !group) return private_failure(KeyError::crypto_failure);
  if (BN_is_zero(secret.get()) || BN_cmp(secret.get(), EC_GROUP_get0_order(group.get())) >= 0)
    return private_failure(KeyError::not_on_curve);
  // OpenSSL does not derive the public point from a bare scalar on import: compute it.
  ossl::EcPoint point(EC_POINT_new(group.get()));
  std::string public_bytes(kP256PublicKeyBytes, '\0');
  if (!point ||
      EC_POINT_mul(group.get(), point.get(), secret.get(), nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED,
                         ossl::bytes(public_bytes), public_bytes.size(),
                         nullptr) != kP256PublicKeyBytes)
    return private_failure(KeyError::crypto_failure);
  ossl::ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, secret.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, public_bytes.data(),
                                       public_bytes.size()) != 1)
    return private_failure(KeyError::crypto_failure);
  ossl::Params params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) return private_failure(KeyError::crypto_failure);
  ossl::Pkey key = key_from_params(params.get(), EVP_PKEY_KEYPAIR);
  if (!key) return private_failure(KeyError::crypto_failure);
  return Parsed{KeyError::none, P256PrivateKey(std::move(key), std::move(public_bytes))};
}

P256PrivateKey::Parsed P256PrivateKey::from_base64url(std::string_view text) {
  auto bytes = base64url_decode_maybe_padded(text);
  if (!bytes) return private_failure(KeyError::bad_encoding);
  return from_scalar(*bytes);
}

ossl::Pkey load_pem_private_key(std::string_view pem, std::string_view what) {
  ossl::Bio input(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!input) throw std::runtime_error(std::string(what) + ": out of memory");
  // A passphrase callback that refuses: without it OpenSSL would prompt on the terminal for an
  // encrypted key, and a daemon must fail instead.
  auto no_passphrase = [](char*, int, int, void*) { return -1; };
  ossl::Pkey key(PEM_read_bio_PrivateKey(input.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    throw std::runtime_error(std::string(what) + ": not a readable unencrypted PEM private key (" +
                             ossl::take_error() + ")");
  }
  return key;
}

P256PrivateKey P256PrivateKey::from_pem(std::string_view pem, std::string_view what) {
  ossl::Pkey key = load_pem_private_key(pem, what);
  if (!is_p256(key.get()))
    throw std::runtime_error(std::string(what) + ": not an EC P-256 (prime256v1) private key");
  auto public_bytes = uncompressed_public(key.get());
  if (!public_bytes) {
    throw std::runtime_error(std::string(what) + ": cannot read its public key (" +
                             ossl::take_error() + ")");
  }
  return P256PrivateKey(std::move(key), std::move(*public_bytes));
}

std::optional<std::string> ecdh_p256(const P256PrivateKey& own, const P256PublicKey& peer) {
  ossl::PkeyContext context(EVP_PKEY_CTX_new_from_pkey(nullptr, own.get(), nullptr));
  std::string secret(32, '\0');
  std::size_t length = secret.size();
  if (!context || EVP_PKEY_derive_init(context.get()) != 1 ||
      // A P256PublicKey was checked when it was made: no second check per message.
      EVP_PKEY_derive_set_peer_ex(context.get(), peer.get(), /*validate_peer=*/0) != 1 ||
      EVP_PKEY_derive(context.get(), ossl::bytes(secret), &length) != 1 || length != 32) {
    ERR_clear_error();
    return std::nullopt;
  }
  return secret;
}

}  // namespace newspush::bridge

#pragma once
// NIST P-256 keys (ECDH for Web Push, ES256 for VAPID and APNs) over OpenSSL 3.0's EVP API.
#include <optional>
#include <string>
#include <string_view>

#include "bridge/push/openssl_types.hpp"

namespace newspush::bridge {

inline constexpr std::size_t kP256PublicKeyBytes = 65;  // 0x04 || x || y
inline constexpr std::size_t kP256PrivateKeyBytes = 32;

enum class KeyError {
  none,
  bad_encoding,      // not base64url
  bad_length,        // not 65 bytes (public) or 32 (private)
  not_uncompressed,  // a public key must start with 0x04 (RFC 8291 section 3.1)
  not_on_curve,      // the point is not on P-256, or the scalar is 0 or >= the group order
  crypto_failure,
};
std::string_view to_string(KeyError error);

class P256PublicKey {
 public:
  struct Parsed;
  // Never throws: a subscriber's p256dh key is outside input.
  static Parsed from_bytes(std::string_view uncompressed_point);
  static Parsed from_base64url(std::string_view text);

  const std::string& bytes() const { return bytes_; }
  EVP_PKEY* get() const { return key_.get(); }

 private:
  P256PublicKey(ossl::Pkey key, std::string bytes)
      : key_(std::move(key)), bytes_(std::move(bytes)) {}
  ossl::Pkey key_;
  std::string bytes_;
};

struct P256PublicKey::Parsed {
  KeyError error = KeyError::none;
  std::optional<P256PublicKey> key;
  bool ok() const { return error == KeyError::none; }
};

class P256PrivateKey {
 public:
  struct Parsed;
  // A fresh random key (Web Push's per-message ephemeral key); nullopt only if OpenSSL fails.
  static std::optional<P256PrivateKey> generate();
  // The 32-byte scalar, big-endian (a JWK's "d"; RFC 8291's test keys; web-push's VAPID keys).
  static Parsed from_scalar(std::string_view scalar);
  static Parsed from_base64url(std::string_view text);
  // Start-up only: a PEM private key ("EC PRIVATE KEY", or PKCS#8 "PRIVATE KEY" as in an APNs
  // .p8 file). Throws std::runtime_error naming what is wrong (encrypted, not EC, not P-256).
  static P256PrivateKey from_pem(std::string_view pem, std::string_view what);

  // The public half, uncompressed (65 bytes).
  const std::string& public_bytes() const { return public_bytes_; }
  EVP_PKEY* get() const { return key_.get(); }

 private:
  P256PrivateKey(ossl::Pkey key, std::string public_bytes)
      : key_(std::move(key)), public_bytes_(std::move(public_bytes)) {}
  ossl::Pkey key_;
  std::string public_bytes_;
};

struct P256PrivateKey::Parsed {
  KeyError error = KeyError::none;
  std::optional<P256PrivateKey> key;
  bool ok() const { return error == KeyError::none; }
};

// The shared secret (the x coordinate, 32 bytes); nullopt only if OpenSSL fails.
std::optional<std::string> ecdh_p256(const P256PrivateKey& own, const P256PublicKey& peer);

// Loads any PEM private key without ever prompting for a passphrase (an encrypted key fails).
// Throws std::runtime_error. Shared with the RSA loader.
ossl::Pkey load_pem_private_key(std::string_view pem, std::string_view what);

}  // namespace newspush::bridge

#pragma once
// Web Push message encryption (RFC 8291): the "aes128gcm" content coding of RFC 8188 keyed by an
// ECDH agreement with the subscription's p256dh key and its auth secret. One record, as RFC 8291
// requires of a push message.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bridge/push/p256.hpp"

namespace newspush::bridge {

inline constexpr std::size_t kAuthSecretBytes = 16;
inline constexpr std::size_t kSaltBytes = 16;
// What every push service must accept as a message body (RFC 8030 section 7.2); the record size
// written in the header.
inline constexpr std::uint32_t kWebPushRecordSize = 4096;
// The header: salt (16), record size (4), key id length (1), key id (65).
inline constexpr std::size_t kWebPushHeaderBytes = kSaltBytes + 4 + 1 + kP256PublicKeyBytes;
inline constexpr std::size_t kGcmTagBytes = 16;
// 4096 - 86 - 16 - 1 (the padding delimiter) = 3993: the longest plaintext that fits.
inline constexpr std::size_t kMaxWebPushPlaintext =
    kWebPushRecordSize - kWebPushHeaderBytes - kGcmTagBytes - 1;

enum class WebPushError {
  none,
  bad_p256dh,         // the subscription's public key: see key_error
  bad_auth_secret,    // not base64url, or not 16 bytes
  payload_too_large,  // more than kMaxWebPushPlaintext (with padding) for one record
  truncated,          // shorter than a header and a tag
  bad_record_size,    // rs < 18, or a body longer than one record
  bad_key_id,         // the sender's key in the header: not 65 bytes or not a P-256 point
  decrypt_failed,     // wrong key or secret, or altered bytes (the GCM tag did not match)
  bad_padding,        // no 0x02 delimiter (RFC 8188 section 2: the last record's)
  crypto_failure,     // OpenSSL itself failed (out of memory)
};
std::string_view to_string(WebPushError error);

// A subscription's keys, checked: p256dh is a point on P-256, auth is 16 bytes.
struct ReceiverKeys {
  P256PublicKey public_key;
  std::string auth_secret;
};

struct ReceiverKeysParse {
  WebPushError error = WebPushError::none;
  KeyError key_error = KeyError::none;  // why, when error == bad_p256dh
  std::optional<ReceiverKeys> keys;
  bool ok() const { return error == WebPushError::none; }
};
// Never throws: both come from the browser's PushSubscription.
ReceiverKeysParse parse_receiver_keys(std::string_view p256dh_base64url,
                                      std::string_view auth_base64url);

// What production draws at random for each message; tests give RFC 8291's.
struct SenderSecrets {
  std::string salt;          // 16 bytes
  P256PrivateKey ephemeral;  // the application server's one-message key
};

struct EncryptOptions {
  // Zero bytes added after the delimiter, to hide the plaintext's exact length.
  std::size_t padding = 0;
};

struct WebPushResult {
  WebPushError error = WebPushError::none;
  std::string bytes;  // the encrypted body, or (decrypt) the plaintext
  bool ok() const { return error == WebPushError::none; }
};

// The body to POST with "Content-Encoding: aes128gcm": a fresh salt and ephemeral key per call.
WebPushResult encrypt_web_push(std::string_view plaintext, const ReceiverKeys& receiver,
                               const EncryptOptions& options = {});
// The same with given secrets (deterministic: RFC 8291 Appendix A's example).
WebPushResult encrypt_web_push(std::string_view plaintext, const ReceiverKeys& receiver,
                               const SenderSecrets& secrets, const EncryptOptions& options = {});

// The browser's side, for fake push services in tests: the subscription's private key and auth
// secret open a body. Never throws, whatever the bytes.
WebPushResult decrypt_web_push(std::string_view body, const P256PrivateKey& receiver_private,
                               std::string_view auth_secret);

}  // namespace newspush::bridge

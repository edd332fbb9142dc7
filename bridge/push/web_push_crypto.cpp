#include "bridge/push/web_push_crypto.hpp"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/base64url.hpp"

namespace newspush::bridge {
namespace {

constexpr char kLastRecordDelimiter = 0x02;

WebPushResult failure(WebPushError error) {
  ERR_clear_error();
  return WebPushResult{error, {}};
}

std::optional<std::string> hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), ossl::bytes(out),
           &length) == nullptr ||
      length != out.size())
    return std::nullopt;
  return out;
}

// HKDF-Expand for one block (every length here is at most 32): T(1) = HMAC(PRK, info || 0x01).
std::optional<std::string> hkdf_expand_one_block(std::string_view prk, std::string info,
                                                 std::size_t length) {
  info.push_back('\x01');
  auto block = hmac_sha256(prk, info);
  if (!block) return std::nullopt;
  block->resize(length);
  return block;
}

struct ContentKeys {
  std::string key;    // CEK, 16 bytes
  std::string nonce;  // 12 bytes; one record, so the sequence number XORed in is 0
};

// RFC 8291 section 3.4, then RFC 8188 section 2.2 and 2.3.
std::optional<ContentKeys> derive_keys(std::string_view ecdh_secret, std::string_view auth_secret,
                                       std::string_view receiver_public,
                                       std::string_view sender_public, std::string_view salt) {
  auto prk_key = hmac_sha256(auth_secret, ecdh_secret);
  if (!prk_key) return std::nullopt;
  std::string key_info = "WebPush: info";
  key_info.push_back('\0');
  key_info.append(receiver_public).append(sender_public);
  auto ikm = hkdf_expand_one_block(*prk_key, std::move(key_info), 32);
  if (!ikm) return std::nullopt;
  auto prk = hmac_sha256(salt, *ikm);
  if (!prk) return std::nullopt;
  auto key = hkdf_expand_one_block(*prk, std::string("Content-Encoding: aes128gcm\0", 28), 16);
  auto nonce = hkdf_expand_one_block(*prk, std::string("Content-Encoding: nonce\0", 24), 12);
  if (!key || !nonce) return std::nullopt;
  return ContentKeys{std::move(*key), std::move(*nonce)};
}

// AES-128-GCM over one record; the tag follows the ciphertext.
bool seal(const ContentKeys& keys, std::string_view record, std::string& out) {
  ossl::CipherContext context(EVP_CIPHER_CTX_new());
  std::size_t start = out.size();
  out.resize(start + record.size() + kGcmTagBytes);
  auto* cursor = ossl::bytes(out) + start;
  int written = 0;
  int final_written = 0;
  if (!context ||
      EVP_EncryptInit_ex(context.get(), EVP_aes_128_gcm(), nullptr, ossl::bytes(keys.key),
                         ossl::bytes(keys.nonce)) != 1 ||
      EVP_EncryptUpdate(context.get(), cursor, &written,
                        reinterpret_cast<const unsigned char*>(record.data()),
                        static_cast<int>(record.size())) != 1 ||
      EVP_EncryptFinal_ex(context.get(), cursor + written, &final_written) != 1 ||
      static_cast<std::size_t>(written + final_written) != record.size() ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes,
                          cursor + record.size()) != 1)
    return false;
  return true;
}

std::optional<std::string> open(const ContentKeys& keys, std::string_view sealed) {
  std::string_view ciphertext = sealed.substr(0, sealed.size() - kGcmTagBytes);
  std::string tag(sealed.substr(ciphertext.size()));
  std::string plaintext(ciphertext.size(), '\0');
  ossl::CipherContext context(EVP_CIPHER_CTX_new());
  int written = 0;
  int final_written = 0;
  if (!context ||
      EVP_DecryptInit_ex(context.get(), EVP_aes_128_gcm(), nullptr, ossl::bytes(keys.key),
                         ossl::bytes(keys.nonce)) != 1 ||
      EVP_DecryptUpdate(context.get(), ossl::bytes(plaintext), &written,
                        reinterpret_cast<const unsigned char*>(ciphertext.data()),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(context.get(), ossl::bytes(plaintext) + written, &final_written) != 1)
    return std::nullopt;
  plaintext.resize(static_cast<std::size_t>(written + final_written));
  return plaintext;
}

void append_uint32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xff));
}

}  // namespace

std::string_view to_string(WebPushError error) {
  switch (error) {
    case WebPushError::none:
      return "none";
    case WebPushError::bad_p256dh:
      return "bad_p256dh";
    case WebPushError::bad_auth_secret:
      return "bad_auth_secret";
    case WebPushError::payload_too_large:
      return "payload_too_large";
    case WebPushError::truncated:
      return "truncated";
    case WebPushError::bad_record_size:
      return "bad_record_size";
    case WebPushError::bad_key_id:
      return "bad_key_id";
    case WebPushError::decrypt_failed:
      return "decrypt_failed";
    case WebPushError::bad_padding:
      return "bad_padding";
    case WebPushError::crypto_failure:
      return "crypto_failure";
  }
  return "unknown";
}

ReceiverKeysParse parse_receiver_keys(std::string_view p256dh_base64url,
                                      std::string_view auth_base64url) {
  ReceiverKeysParse result;
  auto key = P256PublicKey::from_base64url(p256dh_base64url);
  if (!key.ok()) {
    result.error = WebPushError::bad_p256dh;
    result.key_error = key.error;
    return result;
  }
  auto auth = base64url_decode_maybe_padded(auth_base64url);
  if (!auth || auth->size() != kAuthSecretBytes) {
    result.error = WebPushError::bad_auth_secret;
    return result;
  }
  result.keys.emplace(ReceiverKeys{std::move(*key.key), std::move(*auth)});
  return result;
}

WebPushResult encrypt_web_push(std::string_view plaintext, const ReceiverKeys& receiver,
                               const EncryptOptions& options) {
  // Checked before drawing anything: a refusal costs no key generation.
  if (plaintext.size() > kMaxWebPushPlaintext ||
      options.padding > kMaxWebPushPlaintext - plaintext.size())
    return failure(WebPushError::payload_too_large);
  std::string salt(kSaltBytes, '\0');
  if (RAND_bytes(ossl::bytes(salt), static_cast<int>(salt.size())) != 1)
    return failure(WebPushError::crypto_failure);
  auto ephemeral = P256PrivateKey::generate();
  if (!ephemeral) return failure(WebPushError::crypto_failure);
  return encrypt_web_push(plaintext, receiver,
                          SenderSecrets{std::move(salt), std::move(*ephemeral)}, options);
}

WebPushResult encrypt_web_push(std::string_view plaintext, const ReceiverKeys& receiver,
                               const SenderSecrets& secrets, const EncryptOptions& options) {
  if (plaintext.size() > kMaxWebPushPlaintext ||
      options.padding > kMaxWebPushPlaintext - plaintext.size())
    return failure(WebPushError::payload_too_large);
  if (receiver.auth_secret.size() != kAuthSecretBytes)
    return failure(WebPushError::bad_auth_secret);
  if (secrets.salt.size() != kSaltBytes) return failure(WebPushError::crypto_failure);
  auto ecdh_secret = ecdh_p256(secrets.ephemeral, receiver.public_key);
  if (!ecdh_secret) return failure(WebPushError::crypto_failure);
  const std::string& sender_public = secrets.ephemeral.public_bytes();
  auto keys = derive_keys(*ecdh_secret, receiver.auth_secret, receiver.public_key.bytes(),
                          sender_public, secrets.salt);
  if (!keys) return failure(WebPushError::crypto_failure);

  std::string record;
  record.reserve(plaintext.size() + 1 + options.padding);
  record.append(plaintext).push_back(kLastRecordDelimiter);
  record.append(options.padding, '\0');

  WebPushResult result;
  result.bytes.reserve(kWebPushHeaderBytes + record.size() + kGcmTagBytes);
  result.bytes.append(secrets.salt);
  append_uint32(result.bytes, kWebPushRecordSize);
  result.bytes.push_back(static_cast<char>(kP256PublicKeyBytes));
  result.bytes.append(sender_public);
  if (!seal(*keys, record, result.bytes)) return failure(WebPushError::crypto_failure);
  return result;
}

WebPushResult decrypt_web_push(std::string_view body, const P256PrivateKey& receiver_private,
                               std::string_view auth_secret) {
  if (auth_secret.size() != kAuthSecretBytes) return failure(WebPushError::bad_auth_secret);
  constexpr std::size_t kFixedHeader = kSaltBytes + 4 + 1;
  if (body.size() < kFixedHeader) return failure(WebPushError::truncated);
  std::string_view salt = body.substr(0, kSaltBytes);
  std::uint32_t record_size = 0;
  for (std::size_t i = 0; i < 4; ++i)
    record_size = (record_size << 8) | static_cast<unsigned char>(body[kSaltBytes + i]);
  std::size_t key_id_length = static_cast<unsigned char>(body[kSaltBytes + 4]);
  if (key_id_length != kP256PublicKeyBytes) return failure(WebPushError::bad_key_id);
  if (body.size() < kFixedHeader + key_id_length + kGcmTagBytes + 1)
    return failure(WebPushError::truncated);
  // RFC 8188 section 2: a record holds at least a delimiter and the tag.
  if (record_size < kGcmTagBytes + 2) return failure(WebPushError::bad_record_size);
  std::string_view sender_bytes = body.substr(kFixedHeader, key_id_length);
  std::string_view sealed = body.substr(kFixedHeader + key_id_length);
  if (sealed.size() > record_size) return failure(WebPushError::bad_record_size);

  auto sender = P256PublicKey::from_bytes(sender_bytes);
  if (!sender.ok()) return failure(WebPushError::bad_key_id);
  auto ecdh_secret = ecdh_p256(receiver_private, *sender.key);
  if (!ecdh_secret) return failure(WebPushError::crypto_failure);
  auto keys =
      derive_keys(*ecdh_secret, auth_secret, receiver_private.public_bytes(), sender_bytes, salt);
  if (!keys) return failure(WebPushError::crypto_failure);
  auto record = open(*keys, sealed);
  if (!record) return failure(WebPushError::decrypt_failed);
  // Padding is zeros after the delimiter; the delimiter is the last non-zero byte.
  auto delimiter = record->find_last_not_of('\0');
  if (delimiter == std::string::npos || (*record)[delimiter] != kLastRecordDelimiter)
    return failure(WebPushError::bad_padding);
  record->resize(delimiter);
  return WebPushResult{WebPushError::none, std::move(*record)};
}

}  // namespace newspush::bridge

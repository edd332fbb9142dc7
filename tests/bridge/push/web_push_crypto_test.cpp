#include "bridge/push/web_push_crypto.hpp"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include "common/base64url.hpp"

namespace newspush::bridge {
namespace {

// RFC 8291 Appendix A, as published.
constexpr std::string_view kPlaintext = "When I grow up, I want to be a watermelon";
constexpr std::string_view kAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr std::string_view kAsPublic =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr std::string_view kUaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
constexpr std::string_view kUaPublic =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view kSalt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr std::string_view kAuthSecret = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr std::string_view kBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

std::string decoded(std::string_view text) {
  auto bytes = base64url_decode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes.value_or("");
}

ReceiverKeys rfc_receiver() {
  auto parsed = parse_receiver_keys(kUaPublic, kAuthSecret);
  EXPECT_TRUE(parsed.ok());
  return std::move(*parsed.keys);
}

P256PrivateKey private_key(std::string_view base64url) {
  auto parsed = P256PrivateKey::from_base64url(base64url);
  EXPECT_TRUE(parsed.ok()) << to_string(parsed.error);
  return std::move(*parsed.key);
}

// A subscriber made for a test: its private key stays here, as in the browser.
struct TestSubscriber {
  P256PrivateKey key = *P256PrivateKey::generate();
  std::string auth = std::string("0123456789abcdef");
  ReceiverKeys keys() const {
    auto parsed = parse_receiver_keys(base64url_encode(key.public_bytes()), base64url_encode(auth));
    EXPECT_TRUE(parsed.ok());
    return std::move(*parsed.keys);
  }
};

TEST(WebPushCrypto, EncryptsRfc8291AppendixAByteForByte) {
  SenderSecrets secrets{decoded(kSalt), private_key(kAsPrivate)};
  ASSERT_EQ(base64url_encode(secrets.ephemeral.public_bytes()), kAsPublic);
  auto result = encrypt_web_push(kPlaintext, rfc_receiver(), secrets);
  ASSERT_TRUE(result.ok()) << to_string(result.error);
  EXPECT_EQ(base64url_encode(result.bytes), kBody);
  EXPECT_EQ(result.bytes.size(), kWebPushHeaderBytes + kPlaintext.size() + 1 + kGcmTagBytes);
}

TEST(WebPushCrypto, DecryptsRfc8291AppendixA) {
  auto receiver = private_key(kUaPrivate);
  ASSERT_EQ(base64url_encode(receiver.public_bytes()), kUaPublic);
  auto result = decrypt_web_push(decoded(kBody), receiver, decoded(kAuthSecret));
  ASSERT_TRUE(result.ok()) << to_string(result.error);
  EXPECT_EQ(result.bytes, kPlaintext);
}

TEST(WebPushCrypto, HeaderCarriesSaltRecordSizeAndSenderKey) {
  TestSubscriber subscriber;
  auto result = encrypt_web_push("bonjour", subscriber.keys());
  ASSERT_TRUE(result.ok());
  const std::string& body = result.bytes;
  EXPECT_EQ(body.substr(16, 4), std::string("\x00\x00\x10\x00", 4));  // rs = 4096
  EXPECT_EQ(static_cast<unsigned char>(body[20]), 65);
  EXPECT_EQ(body[21], 0x04);  // an uncompressed point
}

TEST(WebPushCrypto, RoundTripsFrenchTextWithFreshSecretsEachTime) {
  TestSubscriber subscriber;
  std::string text = R"({"title":"Élection : l’économie à la une","body":"Ça déménage à Orléans"})";
  auto first = encrypt_web_push(text, subscriber.keys());
  auto second = encrypt_web_push(text, subscriber.keys());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  // A new salt and a new ephemeral key per message: the same text never gives the same bytes.
  EXPECT_NE(first.bytes.substr(0, 16), second.bytes.substr(0, 16));
  EXPECT_NE(first.bytes.substr(21, 65), second.bytes.substr(21, 65));
  for (const auto* body : {&first.bytes, &second.bytes}) {
    auto opened = decrypt_web_push(*body, subscriber.key, subscriber.auth);
    ASSERT_TRUE(opened.ok()) << to_string(opened.error);
    EXPECT_EQ(opened.bytes, text);
  }
}

TEST(WebPushCrypto, PaddingIsAddedAndRemoved) {
  TestSubscriber subscriber;
  auto result = encrypt_web_push("court", subscriber.keys(), EncryptOptions{100});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.bytes.size(), kWebPushHeaderBytes + 5 + 1 + 100 + kGcmTagBytes);
  auto opened = decrypt_web_push(result.bytes, subscriber.key, subscriber.auth);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened.bytes, "court");
}

TEST(WebPushCrypto, LargestPlaintextFillsExactlyOneRecord) {
  TestSubscriber subscriber;
  std::string largest(kMaxWebPushPlaintext, 'x');
  auto result = encrypt_web_push(largest, subscriber.keys());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.bytes.size(), kWebPushRecordSize);
  auto opened = decrypt_web_push(result.bytes, subscriber.key, subscriber.auth);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened.bytes, largest);
}

TEST(WebPushCrypto, RefusesPayloadTooLargeForOneRecord) {
  TestSubscriber subscriber;
  EXPECT_EQ(encrypt_web_push(std::string(kMaxWebPushPlaintext + 1, 'x'), subscriber.keys()).error,
            WebPushError::payload_too_large);
  EXPECT_EQ(encrypt_web_push(std::string(kMaxWebPushPlaintext - 9, 'x'), subscriber.keys(),
                             EncryptOptions{10})
                .error,
            WebPushError::payload_too_large);
  EXPECT_EQ(encrypt_web_push("x", subscriber.keys(), EncryptOptions{SIZE_MAX}).error,
            WebPushError::payload_too_large);
}

TEST(WebPushCrypto, RefusesBadReceiverKeys) {
  const std::string auth = std::string(kAuthSecret);
  // Not base64url: standard base64's characters, whitespace, padding in the middle.
  EXPECT_EQ(parse_receiver_keys("BCVxsr7N+eNgVRqv/HtD0zT", auth).key_error, KeyError::bad_encoding);
  EXPECT_EQ(parse_receiver_keys(std::string(kUaPublic) + " ", auth).key_error,
            KeyError::bad_encoding);
  EXPECT_EQ(parse_receiver_keys("", auth).key_error, KeyError::bad_length);
  // Wrong length: 64 and 66 bytes.
  std::string point = decoded(kUaPublic);
  EXPECT_EQ(parse_receiver_keys(base64url_encode(point.substr(0, 64)), auth).key_error,
            KeyError::bad_length);
  EXPECT_EQ(parse_receiver_keys(base64url_encode(point + "x"), auth).key_error,
            KeyError::bad_length);
  // The compressed form (33 bytes) and a 65-byte value without the 0x04 prefix.
  std::string compressed = point.substr(0, 33);
  compressed[0] = 0x02;
  EXPECT_EQ(parse_receiver_keys(base64url_encode(compressed), auth).key_error,
            KeyError::bad_length);
  std::string bad_prefix = point;
  bad_prefix[0] = 0x05;
  EXPECT_EQ(parse_receiver_keys(base64url_encode(bad_prefix), auth).key_error,
            KeyError::not_uncompressed);
  // A point off the curve: y changed by one bit.
  std::string off_curve = point;
  off_curve[64] = static_cast<char>(off_curve[64] ^ 1);
  auto parsed = parse_receiver_keys(base64url_encode(off_curve), auth);
  EXPECT_EQ(parsed.error, WebPushError::bad_p256dh);
  EXPECT_EQ(parsed.key_error, KeyError::not_on_curve);
  // x = y = 0 is not on the curve either (the point at infinity has no affine encoding).
  std::string zeros(65, '\0');
  zeros[0] = 0x04;
  EXPECT_EQ(parse_receiver_keys(base64url_encode(zeros), auth).key_error, KeyError::not_on_curve);
}

TEST(WebPushCrypto, RefusesBadAuthSecrets) {
  EXPECT_EQ(parse_receiver_keys(kUaPublic, "").error, WebPushError::bad_auth_secret);
  EXPECT_EQ(parse_receiver_keys(kUaPublic, base64url_encode(std::string(15, 'a'))).error,
            WebPushError::bad_auth_secret);
  EXPECT_EQ(parse_receiver_keys(kUaPublic, base64url_encode(std::string(17, 'a'))).error,
            WebPushError::bad_auth_secret);
  EXPECT_EQ(parse_receiver_keys(kUaPublic, "BTBZMqHH6r4Tts7J/aSIgg").error,
            WebPushError::bad_auth_secret);
}

TEST(WebPushCrypto, DecryptRefusesAlteredOrMisaddressedBodies) {
  auto receiver = private_key(kUaPrivate);
  std::string body = decoded(kBody);
  std::string auth = decoded(kAuthSecret);

  for (std::size_t i : {std::size_t{0}, std::size_t{90}, body.size() - 1}) {
    std::string altered = body;
    altered[i] = static_cast<char>(altered[i] ^ 0x40);
    EXPECT_EQ(decrypt_web_push(altered, receiver, auth).error, WebPushError::decrypt_failed) << i;
  }
  std::string other_auth = auth;
  other_auth[0] = static_cast<char>(other_auth[0] ^ 1);
  EXPECT_EQ(decrypt_web_push(body, receiver, other_auth).error, WebPushError::decrypt_failed);
  TestSubscriber stranger;
  EXPECT_EQ(decrypt_web_push(body, stranger.key, auth).error, WebPushError::decrypt_failed);
  EXPECT_EQ(decrypt_web_push(body, receiver, "short").error, WebPushError::bad_auth_secret);
}

TEST(WebPushCrypto, DecryptRefusesMalformedHeaders) {
  auto receiver = private_key(kUaPrivate);
  std::string body = decoded(kBody);
  std::string auth = decoded(kAuthSecret);
  EXPECT_EQ(decrypt_web_push("", receiver, auth).error, WebPushError::truncated);
  EXPECT_EQ(decrypt_web_push(body.substr(0, 20), receiver, auth).error, WebPushError::truncated);
  EXPECT_EQ(decrypt_web_push(body.substr(0, 86 + 16), receiver, auth).error,
            WebPushError::truncated);

  std::string short_key_id = body;
  short_key_id[20] = 32;
  EXPECT_EQ(decrypt_web_push(short_key_id, receiver, auth).error, WebPushError::bad_key_id);
  std::string off_curve = body;
  off_curve[21 + 64] = static_cast<char>(off_curve[21 + 64] ^ 1);
  EXPECT_EQ(decrypt_web_push(off_curve, receiver, auth).error, WebPushError::bad_key_id);

  std::string tiny_records = body;
  tiny_records.replace(16, 4, std::string("\x00\x00\x00\x11", 4));  // rs = 17 < 18
  EXPECT_EQ(decrypt_web_push(tiny_records, receiver, auth).error, WebPushError::bad_record_size);
  std::string two_records = body;
  two_records.replace(16, 4, std::string("\x00\x00\x00\x20", 4));  // rs = 32 < 58 bytes sent
  EXPECT_EQ(decrypt_web_push(two_records, receiver, auth).error, WebPushError::bad_record_size);
}

// RFC 8291's derivation written out again with OpenSSL's HMAC and AES-GCM, to seal records the
// library never writes (no 0x02 delimiter).
std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string seal_raw_record(std::string_view record, const P256PrivateKey& sender,
                            const P256PrivateKey& receiver, std::string_view auth,
                            std::string_view salt) {
  auto receiver_public = P256PublicKey::from_bytes(receiver.public_bytes());
  std::string secret = *ecdh_p256(sender, *receiver_public.key);
  std::string info = std::string("WebPush: info", 13) + '\0' + receiver.public_bytes() +
                     sender.public_bytes() + '\1';
  std::string ikm = hmac(hmac(auth, secret), info);
  std::string prk = hmac(salt, ikm);
  std::string cek = hmac(prk, std::string("Content-Encoding: aes128gcm\0\1", 29)).substr(0, 16);
  std::string nonce = hmac(prk, std::string("Content-Encoding: nonce\0\1", 25)).substr(0, 12);
  std::string out(record.size() + 16, '\0');
  auto* context = EVP_CIPHER_CTX_new();
  int length = 0;
  EVP_EncryptInit_ex(context, EVP_aes_128_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(cek.data()),
                     reinterpret_cast<const unsigned char*>(nonce.data()));
  EVP_EncryptUpdate(context, reinterpret_cast<unsigned char*>(out.data()), &length,
                    reinterpret_cast<const unsigned char*>(record.data()),
                    static_cast<int>(record.size()));
  EVP_EncryptFinal_ex(context, reinterpret_cast<unsigned char*>(out.data()) + length, &length);
  EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, out.data() + record.size());
  EVP_CIPHER_CTX_free(context);
  std::string header =
      std::string(salt) + std::string("\x00\x00\x10\x00", 4) + '\x41' + sender.public_bytes();
  return header + out;
}

TEST(WebPushCrypto, IndependentDerivationAgreesWithTheLibrary) {
  TestSubscriber subscriber;
  auto sender = *P256PrivateKey::generate();
  std::string body = seal_raw_record(std::string("salut\x02", 6), sender, subscriber.key,
                                     subscriber.auth, "sixteen byte slt");
  auto opened = decrypt_web_push(body, subscriber.key, subscriber.auth);
  ASSERT_TRUE(opened.ok()) << to_string(opened.error);
  EXPECT_EQ(opened.bytes, "salut");
}

TEST(WebPushCrypto, DecryptRefusesARecordWithoutTheLastRecordDelimiter) {
  TestSubscriber subscriber;
  auto sender = *P256PrivateKey::generate();
  // 0x01 marks a record that is not the last: a push message has exactly one record.
  for (std::string record : {std::string("salut\x01", 6), std::string("salut"),
                             std::string(4, '\0'), std::string("salut\x01\0\0", 8)}) {
    std::string body =
        seal_raw_record(record, sender, subscriber.key, subscriber.auth, "sixteen byte slt");
    EXPECT_EQ(decrypt_web_push(body, subscriber.key, subscriber.auth).error,
              WebPushError::bad_padding);
  }
}

TEST(WebPushCrypto, PlaintextOfZeroBytesSurvivesPadding) {
  TestSubscriber subscriber;
  std::string zeros(5, '\0');
  auto result = encrypt_web_push(zeros, subscriber.keys(), EncryptOptions{3});
  ASSERT_TRUE(result.ok());
  auto opened = decrypt_web_push(result.bytes, subscriber.key, subscriber.auth);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened.bytes, zeros);
}

}  // namespace
}  // namespace newspush::bridge

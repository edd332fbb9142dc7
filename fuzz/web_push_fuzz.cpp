// Web Push input from outside: a device's PushSubscription JSON (the bridge's device API) and
// an encrypted body (what the tests' fake push service opens). Also a round trip: any bytes that
// fit one record, encrypted to a fixed subscriber, decrypt to themselves.
#include <cstdint>
#include <string>

#include "common/base64url.hpp"
#include "bridge/push/subscription.hpp"
#include "bridge/push/web_push_crypto.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace newspush;

namespace {

// RFC 8291 Appendix A's keys: fixed, so every run of an input does the same thing.
struct Fixture {
  bridge::P256PrivateKey receiver = std::move(
      *bridge::P256PrivateKey::from_base64url("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94").key);
  std::string auth = *newspush::base64url_decode("BTBZMqHH6r4Tts7J_aSIgg");
  bridge::ReceiverKeys receiver_keys =
      std::move(*bridge::parse_receiver_keys(base64url_encode(receiver.public_bytes()),
                                             "BTBZMqHH6r4Tts7J_aSIgg")
                     .keys);
  bridge::SenderSecrets secrets{*newspush::base64url_decode("DGv6ra1nlYgDCS1FRnbzlw"),
                                std::move(*bridge::P256PrivateKey::from_base64url(
                                               "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")
                                               .key)};
};

const Fixture& fixture() {
  static const Fixture instance;
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const Fixture& f = fixture();

  auto parsed = bridge::parse_subscription(input, bridge::SubscriptionPolicy{.allow_http = true});
  FUZZ_CHECK(!bridge::to_string(parsed.error).empty());
  if (parsed.ok()) {
    const auto& s = *parsed.subscription;
    FUZZ_CHECK(s.keys.public_key.bytes().size() == bridge::kP256PublicKeyBytes);
    FUZZ_CHECK(s.keys.auth_secret.size() == bridge::kAuthSecretBytes);
    FUZZ_CHECK(s.url.origin.starts_with("http") && s.url.origin.size() <= s.endpoint.size());
    // The origin is what VAPID signs as "aud": it must parse to itself.
    auto origin = bridge::parse_push_url(s.url.origin);
    FUZZ_CHECK(origin && origin->origin == s.url.origin);
  }

  auto opened = bridge::decrypt_web_push(input, f.receiver, f.auth);
  FUZZ_CHECK(!bridge::to_string(opened.error).empty());
  if (opened.ok()) {
    FUZZ_CHECK(opened.bytes.size() + bridge::kWebPushHeaderBytes + bridge::kGcmTagBytes + 1 <=
               size);
  }

  auto sealed = bridge::encrypt_web_push(input, f.receiver_keys, f.secrets);
  if (size > bridge::kMaxWebPushPlaintext) {
    FUZZ_CHECK(sealed.error == bridge::WebPushError::payload_too_large);
  } else {
    FUZZ_CHECK(sealed.ok());
    FUZZ_CHECK(sealed.bytes.size() <= bridge::kWebPushRecordSize);
    auto round_trip = bridge::decrypt_web_push(sealed.bytes, f.receiver, f.auth);
    FUZZ_CHECK(round_trip.ok() && round_trip.bytes == input);
  }
  return 0;
}

#include "bridge/push/vapid.hpp"

#include <gtest/gtest.h>

#include "common/base64url.hpp"
#include "tests/bridge/push/test_keys.hpp"

namespace newspush::bridge {
namespace {

namespace keys = test::bridge_keys;
using std::chrono::hours;
using std::chrono::seconds;

const SystemTime kNow{seconds(1795890100)};
constexpr std::string_view kAudience = "https://push.example";

struct Parts {
  std::string token;
  std::string key;
};
Parts split(const std::string& header) {
  EXPECT_EQ(header.rfind("vapid t=", 0), 0u) << header;
  auto comma = header.find(", k=");
  EXPECT_NE(comma, std::string::npos) << header;
  return Parts{header.substr(8, comma - 8), header.substr(comma + 4)};
}

TEST(Vapid, HeaderHasTheRfc8292FormAndClaims) {
  auto key = keys::make_p256_key();
  auto signer =
      VapidSigner::from_pem(test::tokens::private_pem(key.get()), "mailto:ops@exemple.fr");
  auto header = signer.authorization(kAudience, kNow, hours(12));
  ASSERT_TRUE(header);
  auto parts = split(*header);
  EXPECT_EQ(parts.key, signer.public_key_base64url());
  EXPECT_EQ(keys::base64url_decode_or_fail(parts.key).size(), 65u);
  auto decoded = keys::decode_and_check(parts.token, key.get(), /*es256=*/true);
  EXPECT_TRUE(decoded.signature_ok);
  EXPECT_EQ(decoded.header, (nlohmann::json{{"alg", "ES256"}, {"typ", "JWT"}}));
  EXPECT_EQ(decoded.claims, (nlohmann::json{{"aud", "https://push.example"},
                                            {"exp", 1795890100 + 12 * 3600},
                                            {"sub", "mailto:ops@exemple.fr"}}));
}

TEST(Vapid, RawBase64urlKeyAsWebPushToolsPrintIt) {
  // RFC 8291's application server key, reused as a VAPID key.
  auto signer = VapidSigner::from_base64url("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
                                            "https://exemple.fr/contact");
  EXPECT_EQ(
      signer.public_key_base64url(),
      "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8");
  auto header = signer.authorization(kAudience, kNow, hours(1));
  ASSERT_TRUE(header);
  EXPECT_TRUE(verify_vapid_authorization(*header, kAudience, kNow).ok());
}

TEST(Vapid, LifetimeIsCappedAt24Hours) {
  auto key = keys::make_p256_key();
  auto signer = VapidSigner::from_pem(test::tokens::private_pem(key.get()), "mailto:a@b");
  auto capped = split(*signer.authorization(kAudience, kNow, hours(48)));
  EXPECT_EQ(keys::decode_and_check(capped.token, key.get(), true).claims["exp"],
            1795890100 + 86400);
  auto fallback = split(*signer.authorization(kAudience, kNow));
  EXPECT_EQ(keys::decode_and_check(fallback.token, key.get(), true).claims["exp"],
            1795890100 + 12 * 3600);
  EXPECT_TRUE(
      verify_vapid_authorization(*signer.authorization(kAudience, kNow, hours(48)), kAudience, kNow)
          .ok());
}

TEST(Vapid, StartUpRefusesBadKeysAndSubjects) {
  auto key = keys::make_p256_key();
  std::string pem = test::tokens::private_pem(key.get());
  EXPECT_THROW(VapidSigner::from_pem(pem, "ops@exemple.fr"), std::runtime_error);
  EXPECT_THROW(VapidSigner::from_pem(pem, "mailto:"), std::runtime_error);
  EXPECT_THROW(VapidSigner::from_pem(pem, "http://exemple.fr"), std::runtime_error);
  EXPECT_THROW(VapidSigner::from_base64url("AAAA", "mailto:a@b"), std::runtime_error);
  EXPECT_THROW(VapidSigner::from_pem("garbage", "mailto:a@b"), std::runtime_error);
}

TEST(Vapid, VerifierAcceptsTheSignersHeader) {
  auto signer = VapidSigner::from_pem(test::tokens::private_pem(keys::make_p256_key().get()),
                                      "mailto:ops@exemple.fr");
  auto header = *signer.authorization(kAudience, kNow, hours(24));
  auto check = verify_vapid_authorization(header, kAudience, kNow);
  ASSERT_TRUE(check.ok()) << to_string(check.error);
  EXPECT_EQ(check.subject, "mailto:ops@exemple.fr");
  EXPECT_EQ(check.public_key, signer.public_key_base64url());
  // The parameters in the other order, as RFC 8292 allows.
  auto parts = split(header);
  EXPECT_TRUE(
      verify_vapid_authorization("vapid k=" + parts.key + ", t=" + parts.token, kAudience, kNow)
          .ok());
}

TEST(Vapid, VerifierRefusesEachBrokenClaim) {
  auto key = keys::make_p256_key();
  auto signer =
      VapidSigner::from_pem(test::tokens::private_pem(key.get()), "mailto:ops@exemple.fr");
  auto other = VapidSigner::from_pem(test::tokens::private_pem(keys::make_p256_key().get()),
                                     "mailto:ops@exemple.fr");
  auto header = *signer.authorization(kAudience, kNow, hours(1));
  auto parts = split(header);
  auto error_of = [](std::string_view value, std::string_view audience, SystemTime now) {
    return verify_vapid_authorization(value, audience, now).error;
  };
  EXPECT_EQ(error_of(header, "https://other.example", kNow), VapidError::wrong_audience);
  EXPECT_EQ(error_of(header, kAudience, kNow + hours(1)), VapidError::expired);
  std::string too_long = test::tokens::make_token(
      {{"alg", "ES256"}},
      {{"aud", kAudience}, {"exp", 1795890100 + 25 * 3600}, {"sub", "mailto:a@b"}},
      test::tokens::es256(key.get()));
  EXPECT_EQ(error_of("vapid t=" + too_long + ", k=" + parts.key, kAudience, kNow),
            VapidError::too_long);
  // A token signed by one key presented with another's k.
  auto other_parts = split(*other.authorization(kAudience, kNow, hours(1)));
  EXPECT_EQ(error_of("vapid t=" + parts.token + ", k=" + other_parts.key, kAudience, kNow),
            VapidError::bad_token);
  EXPECT_EQ(error_of("vapid t=" + parts.token + ", k=AAAA", kAudience, kNow),
            VapidError::bad_public_key);
  EXPECT_EQ(error_of("Bearer " + parts.token, kAudience, kNow), VapidError::malformed);
  EXPECT_EQ(error_of("vapid t=" + parts.token, kAudience, kNow), VapidError::malformed);
  EXPECT_EQ(error_of("vapid t=" + parts.token + ", k=" + parts.key + ", x=1", kAudience, kNow),
            VapidError::malformed);
  // A subject that is not a contact, signed properly (made with OpenSSL alone).
  std::string no_contact = test::tokens::make_token(
      {{"typ", "JWT"}, {"alg", "ES256"}},
      {{"aud", kAudience}, {"exp", 1795890100 + 60}, {"sub", "ops@exemple.fr"}},
      test::tokens::es256(key.get()));
  EXPECT_EQ(error_of("vapid t=" + no_contact + ", k=" + parts.key, kAudience, kNow),
            VapidError::bad_subject);
  std::string no_exp =
      test::tokens::make_token({{"alg", "ES256"}}, {{"aud", kAudience}, {"sub", "mailto:a@b"}},
                               test::tokens::es256(key.get()));
  EXPECT_EQ(error_of("vapid t=" + no_exp + ", k=" + parts.key, kAudience, kNow),
            VapidError::expired);
}

}  // namespace
}  // namespace newspush::bridge

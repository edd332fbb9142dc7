#include "bridge/push/jwt.hpp"

#include <gtest/gtest.h>

#include "common/base64url.hpp"
#include "tests/bridge/push/test_keys.hpp"

namespace newspush::bridge {
namespace {

namespace keys = test::bridge_keys;
namespace tokens = test::tokens;

TEST(Jwt, Es256SignatureIsJoseRawAndVerifiesIndependently) {
  auto key = keys::make_p256_key();
  auto token = sign_jwt(JwtAlgorithm::es256, key.get(), {{"kid", "ABC123DEFG"}}, {{"iss", "team"}});
  ASSERT_TRUE(token);
  auto decoded = keys::decode_and_check(*token, key.get(), /*es256=*/true);
  EXPECT_TRUE(decoded.signature_ok);
  EXPECT_EQ(decoded.header, (nlohmann::json{{"alg", "ES256"}, {"kid", "ABC123DEFG"}}));
  // "alg" first, as written.
  EXPECT_EQ(keys::base64url_decode_or_fail(token->substr(0, token->find('.'))),
            R"({"alg":"ES256","kid":"ABC123DEFG"})");
}

TEST(Jwt, Rs256VerifiesIndependently) {
  EVP_PKEY* key = keys::shared_rsa_key();
  auto token = sign_jwt(JwtAlgorithm::rs256, key, {{"typ", "JWT"}}, {{"iss", "a@b.iam"}});
  ASSERT_TRUE(token);
  auto decoded = keys::decode_and_check(*token, key, /*es256=*/false);
  EXPECT_TRUE(decoded.signature_ok);
  EXPECT_EQ(decoded.claims["iss"], "a@b.iam");
}

TEST(Jwt, AHeaderCannotOverrideTheAlgorithm) {
  auto key = keys::make_p256_key();
  auto token =
      sign_jwt(JwtAlgorithm::es256, key.get(), {{"alg", "none"}}, nlohmann::ordered_json::object());
  ASSERT_TRUE(token);
  EXPECT_EQ(keys::decode_and_check(*token, key.get(), true).header["alg"], "ES256");
}

TEST(Jwt, VerifiesTokensSignedElsewhere) {
  auto key = keys::make_p256_key();
  std::string token =
      tokens::make_token({{"alg", "ES256"}}, {{"sub", "mailto:a@b"}}, tokens::es256(key.get()));
  auto verification = verify_jwt(token, JwtAlgorithm::es256, key.get());
  ASSERT_TRUE(verification.ok()) << to_string(verification.error);
  EXPECT_EQ(verification.claims["sub"], "mailto:a@b");
}

TEST(Jwt, RefusesWrongAlgorithmsKeysAndForms) {
  auto key = keys::make_p256_key();
  auto other = keys::make_p256_key();
  std::string good = tokens::make_token({{"alg", "ES256"}}, {{"a", 1}}, tokens::es256(key.get()));
  EXPECT_EQ(verify_jwt(good, JwtAlgorithm::es256, other.get()).error, JwtError::bad_signature);
  EXPECT_EQ(verify_jwt(good, JwtAlgorithm::rs256, key.get()).error, JwtError::wrong_algorithm);
  // An ES256 signature in DER, as OpenSSL makes it, is not JOSE's.
  std::string der = tokens::make_token({{"alg", "ES256"}}, {{"a", 1}}, tokens::rs256(key.get()));
  EXPECT_EQ(verify_jwt(der, JwtAlgorithm::es256, key.get()).error, JwtError::bad_signature);
  EXPECT_EQ(verify_jwt(tokens::make_token({{"alg", "none"}}, {{"a", 1}}, tokens::unsigned_token()),
                       JwtAlgorithm::es256, key.get())
                .error,
            JwtError::wrong_algorithm);
  std::string altered = good;
  altered[altered.find('.') + 2] ^= 1;
  EXPECT_NE(verify_jwt(altered, JwtAlgorithm::es256, key.get()).error, JwtError::none);
  for (std::string_view bad : {"", "a.b", "a.b.c.d", "..", "W10.e30.AA", "e30.e30.A"})
    EXPECT_EQ(verify_jwt(bad, JwtAlgorithm::es256, key.get()).error, JwtError::malformed) << bad;
  EXPECT_EQ(verify_jwt("e30.e30.", JwtAlgorithm::es256, key.get()).error,
            JwtError::wrong_algorithm);
  EXPECT_EQ(verify_jwt(std::string(17000, 'a'), JwtAlgorithm::es256, key.get()).error,
            JwtError::malformed);
}

}  // namespace
}  // namespace newspush::bridge

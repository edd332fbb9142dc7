#include "server/auth/token_verifier.hpp"

#include "tests/support/test_tokens.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace newspush::auth {
namespace {

using Clock = std::chrono::system_clock;
using Json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Keys and signatures come from tests/support/test_tokens (OpenSSL), never from the verifier's
// own code, so that a mistake there cannot hide behind the same mistake here.
using namespace newspush::test::tokens;

// A token as libjwt 1.10 itself encodes one (it adds "typ":"JWT").
std::string libjwt_token(jwt_alg_t alg, std::string_view key, const Json& claims,
                         const char* kid = nullptr) {
  jwt_t* jwt = nullptr;
  if (jwt_new(&jwt) != 0) throw std::runtime_error("jwt_new failed");
  std::unique_ptr<jwt_t, decltype(&jwt_free)> owner(jwt, &jwt_free);
  if (jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0 ||
      (kid && jwt_add_header(jwt, "kid", kid) != 0) ||
      jwt_add_grants_json(jwt, claims.dump().c_str()) != 0)
    throw std::runtime_error("libjwt refused the token's parts");
  std::unique_ptr<char, decltype(&std::free)> text(jwt_encode_str(jwt), &std::free);
  if (!text) throw std::runtime_error("jwt_encode_str failed");
  return text.get();
}

// ---- The fixture: keys made once, written as PEM files into a fresh directory.

const Clock::time_point kNow = Clock::time_point(std::chrono::seconds(1750000000));
constexpr long kNowSeconds = 1750000000;
const std::string kSecret = "a shared secret of at least 32 bytes, for HS256";

Json claims(long expires_in = 600) {
  return Json{{"sub", "reader-42"}, {"exp", kNowSeconds + expires_in}};
}
Json header(const char* alg, const char* kid = nullptr) {
  Json header{{"alg", alg}, {"typ", "JWT"}};
  if (kid) header["kid"] = kid;
  return header;
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/newspush-token-test-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    directory_ = new std::filesystem::path(pattern);
    rsa_current_ = EVP_RSA_gen(2048);
    rsa_previous_ = EVP_RSA_gen(2048);
    rsa_stranger_ = EVP_RSA_gen(2048);  // configured nowhere
    ec_current_ = EVP_EC_gen("P-256");
    ec_stranger_ = EVP_EC_gen("P-256");
    write_file("rsa-current.pem", public_pem(rsa_current_));
    write_file("rsa-previous.pem", public_pem(rsa_previous_));
    write_file("ec-current.pem", public_pem(ec_current_));
  }
  static void TearDownTestSuite() {
    for (EVP_PKEY* key : {rsa_current_, rsa_previous_, rsa_stranger_, ec_current_, ec_stranger_})
      EVP_PKEY_free(key);
    std::filesystem::remove_all(*directory_);
    delete directory_;
  }

  static std::filesystem::path write_file(const std::string& name, std::string_view text) {
    auto path = *directory_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  static std::filesystem::path key_file(const char* name) { return *directory_ / name; }

  static TokenVerifierConfig public_keys_only() {
    TokenVerifierConfig config;
    config.public_key_files = {key_file("rsa-current.pem"), key_file("rsa-previous.pem"),
                               key_file("ec-current.pem")};
    return config;
  }
  static TokenVerifierConfig every_key() {
    TokenVerifierConfig config = public_keys_only();
    config.secret = kSecret;
    return config;
  }

  static std::string construction_error(const TokenVerifierConfig& config) {
    try {
      TokenVerifier verifier(config);
    } catch (const std::runtime_error& error) {
      return error.what();
    }
    return "";
  }

  static inline std::filesystem::path* directory_ = nullptr;
  static inline EVP_PKEY* rsa_current_ = nullptr;
  static inline EVP_PKEY* rsa_previous_ = nullptr;
  static inline EVP_PKEY* rsa_stranger_ = nullptr;
  static inline EVP_PKEY* ec_current_ = nullptr;
  static inline EVP_PKEY* ec_stranger_ = nullptr;
};

::testing::AssertionResult refused_as(const TokenVerification& verification, TokenError reason) {
  if (verification.error == reason) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << to_string(verification.error) << " (" << verification.detail << "), expected "
         << to_string(reason);
}
#define EXPECT_REFUSED(verification, reason) EXPECT_TRUE(refused_as((verification), (reason)))

// ---- Valid tokens

TEST_F(TokenVerifierTest, AcceptsHs256AsLibjwtSignsIt) {
  TokenVerifier verifier(every_key());
  Json payload = claims();
  payload["categories"] = {"premium-*", "live-blog"};
  auto result = verifier.verify(libjwt_token(JWT_ALG_HS256, kSecret, payload), kNow);
  ASSERT_TRUE(result.ok()) << to_string(result.error) << ": " << result.detail;
  EXPECT_EQ(result.claims.subject, "reader-42");
  EXPECT_EQ(result.claims.expiry, kNow + std::chrono::seconds(600));
  EXPECT_FALSE(result.claims.not_before);
  EXPECT_THAT(result.claims.categories.patterns(), ElementsAre("live-blog", "premium-*"));
  EXPECT_TRUE(result.claims.categories.matches("premium-daily"));
  EXPECT_EQ(result.claims.key_id, "");  // the secret
}

TEST_F(TokenVerifierTest, AcceptsRs256WithItsKid) {
  TokenVerifier verifier(every_key());
  Json payload = claims();
  payload["nbf"] = kNowSeconds - 5;
  auto result = verifier.verify(
      libjwt_token(JWT_ALG_RS256, private_pem(rsa_current_), payload, "rsa-current"), kNow);
  ASSERT_TRUE(result.ok()) << to_string(result.error) << ": " << result.detail;
  EXPECT_EQ(result.claims.key_id, "rsa-current");
  EXPECT_EQ(result.claims.subject, "reader-42");
  EXPECT_EQ(result.claims.not_before, kNow - std::chrono::seconds(5));
  EXPECT_TRUE(result.claims.categories.empty());  // no claim: public categories only
}

TEST_F(TokenVerifierTest, AcceptsEs256FromLibjwtAndFromOpenSsl) {
  TokenVerifier verifier(public_keys_only());
  auto from_libjwt = verifier.verify(
      libjwt_token(JWT_ALG_ES256, private_pem(ec_current_), claims(), "ec-current"), kNow);
  ASSERT_TRUE(from_libjwt.ok()) << to_string(from_libjwt.error) << ": " << from_libjwt.detail;
  EXPECT_EQ(from_libjwt.claims.key_id, "ec-current");

  auto from_openssl =
      verifier.verify(make_token(header("ES256"), claims(), es256(ec_current_)), kNow);
  ASSERT_TRUE(from_openssl.ok()) << to_string(from_openssl.error) << ": " << from_openssl.detail;
  EXPECT_EQ(from_openssl.claims.key_id, "ec-current");
}

TEST_F(TokenVerifierTest, SubjectIsOptionalAndAKidOnHs256IsIgnored) {
  TokenVerifier verifier(every_key());
  auto result = verifier.verify(
      make_token(header("HS256", "whatever"), Json{{"exp", kNowSeconds + 60}}, hs256(kSecret)),
      kNow);
  ASSERT_TRUE(result.ok()) << result.detail;
  EXPECT_EQ(result.claims.subject, "");
}

// ---- Time

TEST_F(TokenVerifierTest, ExpiredFromTheSecondOfExpWithNoLeeway) {
  TokenVerifier verifier(every_key());
  std::string token = make_token(header("HS256"), claims(0), hs256(kSecret));  // exp == now
  EXPECT_TRUE(verifier.verify(token, kNow - std::chrono::nanoseconds(1)).ok());
  EXPECT_REFUSED(verifier.verify(token, kNow), TokenError::expired);
  EXPECT_REFUSED(verifier.verify(make_token(header("HS256"), claims(-3600), hs256(kSecret)), kNow),
                 TokenError::expired);
}

TEST_F(TokenVerifierTest, NotBeforeInTheFutureIsRefusedBeyondTheLeeway) {
  TokenVerifier verifier(every_key());
  auto token_with_nbf = [](long nbf_in) {
    Json payload = claims();
    payload["nbf"] = kNowSeconds + nbf_in;
    return make_token(header("RS256", "rsa-current"), payload, rs256(rsa_current_));
  };
  long leeway = kNotBeforeLeeway.count();
  EXPECT_TRUE(verifier.verify(token_with_nbf(leeway), kNow).ok());
  EXPECT_REFUSED(verifier.verify(token_with_nbf(leeway + 1), kNow), TokenError::not_yet_valid);
  EXPECT_REFUSED(verifier.verify(token_with_nbf(3600), kNow), TokenError::not_yet_valid);
}

TEST_F(TokenVerifierTest, ExpIsRequiredAndMustBeANonNegativeNumber) {
  TokenVerifier verifier(every_key());
  auto with_exp = [](Json exp) {
    Json payload{{"sub", "reader-42"}};
    if (!exp.is_discarded()) payload["exp"] = exp;
    return make_token(header("HS256"), payload, hs256(kSecret));
  };
  EXPECT_REFUSED(verifier.verify(with_exp(Json(Json::value_t::discarded)), kNow),
                 TokenError::missing_exp);
  EXPECT_REFUSED(verifier.verify(with_exp(std::to_string(kNowSeconds + 60)), kNow),
                 TokenError::bad_claims);
  EXPECT_REFUSED(verifier.verify(with_exp(nullptr), kNow), TokenError::bad_claims);
  EXPECT_REFUSED(verifier.verify(with_exp(-1), kNow), TokenError::bad_claims);
  EXPECT_REFUSED(verifier.verify(with_exp(Json::array({kNowSeconds + 60})), kNow),
                 TokenError::bad_claims);

  // RFC 7519 allows fractional dates: rounded down.
  auto fractional = verifier.verify(with_exp(kNowSeconds + 60.9), kNow);
  ASSERT_TRUE(fractional.ok()) << fractional.detail;
  EXPECT_EQ(fractional.claims.expiry, kNow + std::chrono::seconds(60));

  // "Never expires" written as a date beyond system_clock's range reads as 2200.
  auto far = verifier.verify(with_exp(99999999999), kNow);
  ASSERT_TRUE(far.ok()) << far.detail;
  EXPECT_EQ(far.claims.expiry, Clock::time_point(std::chrono::seconds(7258118400)));
}

TEST_F(TokenVerifierTest, NbfMustBeANumberWhenPresent) {
  TokenVerifier verifier(every_key());
  Json payload = claims();
  payload["nbf"] = "yesterday";
  EXPECT_REFUSED(verifier.verify(make_token(header("HS256"), payload, hs256(kSecret)), kNow),
                 TokenError::bad_claims);
}

// ---- Signatures and keys

TEST_F(TokenVerifierTest, AWrongSignatureIsRefused) {
  TokenVerifier verifier(every_key());
  EXPECT_REFUSED(verifier.verify(make_token(header("HS256"), claims(), hs256(kSecret + "x")), kNow),
                 TokenError::bad_signature);
  EXPECT_REFUSED(
      verifier.verify(make_token(header("RS256", "rsa-current"), claims(), rs256(rsa_stranger_)),
                      kNow),
      TokenError::bad_signature);
  EXPECT_REFUSED(
      verifier.verify(make_token(header("ES256", "ec-current"), claims(), es256(ec_stranger_)),
                      kNow),
      TokenError::bad_signature);
  // Signed by a configured key, but not the one its kid names.
  EXPECT_REFUSED(
      verifier.verify(make_token(header("RS256", "rsa-current"), claims(), rs256(rsa_previous_)),
                      kNow),
      TokenError::bad_signature);

  // A valid token whose payload is swapped for another one.
  std::string token = make_token(header("RS256", "rsa-current"), claims(), rs256(rsa_current_));
  std::string other =
      make_token(header("RS256", "rsa-current"), claims(86400), rs256(rsa_stranger_));
  auto payload_of = [](const std::string& t) {
    return t.substr(t.find('.'), t.rfind('.') - t.find('.'));
  };
  std::string tampered = token;
  tampered.replace(token.find('.'), payload_of(token).size(), payload_of(other));
  ASSERT_NE(tampered, token);
  EXPECT_REFUSED(verifier.verify(tampered, kNow), TokenError::bad_signature);

  // No signature at all.
  std::string unsigned_rs256 = make_token(header("RS256"), claims(), unsigned_token());
  EXPECT_REFUSED(verifier.verify(unsigned_rs256, kNow), TokenError::bad_signature);
  // An ES256 signature of the wrong length.
  std::string short_es256 = make_token(header("ES256"), claims(),
                                       [](std::string_view) { return std::string(63, '\x01'); });
  EXPECT_REFUSED(verifier.verify(short_es256, kNow), TokenError::bad_signature);
}

TEST_F(TokenVerifierTest, AKidThatNamesNoKeyIsUnknown) {
  TokenVerifier verifier(every_key());
  EXPECT_REFUSED(
      verifier.verify(make_token(header("RS256", "rsa-2019"), claims(), rs256(rsa_current_)), kNow),
      TokenError::unknown_key);
  EXPECT_REFUSED(
      verifier.verify(make_token(header("ES256", ""), claims(), es256(ec_current_)), kNow),
      TokenError::unknown_key);
  // A kid naming a key of another kind than the alg's.
  EXPECT_REFUSED(
      verifier.verify(make_token(header("RS256", "ec-current"), claims(), rs256(rsa_current_)),
                      kNow),
      TokenError::alg_not_allowed);
}

TEST_F(TokenVerifierTest, WithoutKidEachKeyOfTheAlgsKindIsTried) {
  TokenVerifier verifier(every_key());
  auto by_previous =
      verifier.verify(make_token(header("RS256"), claims(), rs256(rsa_previous_)), kNow);
  ASSERT_TRUE(by_previous.ok()) << by_previous.detail;
  EXPECT_EQ(by_previous.claims.key_id, "rsa-previous");
  auto by_current =
      verifier.verify(make_token(header("RS256"), claims(), rs256(rsa_current_)), kNow);
  ASSERT_TRUE(by_current.ok()) << by_current.detail;
  EXPECT_EQ(by_current.claims.key_id, "rsa-current");

  auto by_stranger =
      verifier.verify(make_token(header("RS256"), claims(), rs256(rsa_stranger_)), kNow);
  EXPECT_REFUSED(by_stranger, TokenError::bad_signature);
  EXPECT_THAT(by_stranger.detail, HasSubstr("2 tried"));
}

TEST_F(TokenVerifierTest, AlgNoneAndAlgsOutsideTheThreeAreRefused) {
  TokenVerifier verifier(every_key());
  for (const char* alg : {"none", "None", "NONE"}) {
    EXPECT_REFUSED(verifier.verify(make_token(header(alg), claims(), unsigned_token()), kNow),
                   TokenError::alg_not_allowed)
        << alg;
    // Even carrying a signature that would verify under HS256.
    EXPECT_REFUSED(verifier.verify(make_token(header(alg), claims(), hs256(kSecret)), kNow),
                   TokenError::alg_not_allowed)
        << alg;
  }
  // libjwt reads algs case-insensitively; RFC 7515 does not.
  EXPECT_REFUSED(verifier.verify(make_token(header("hs256"), claims(), hs256(kSecret)), kNow),
                 TokenError::alg_not_allowed);
  EXPECT_REFUSED(verifier.verify(libjwt_token(JWT_ALG_HS512, kSecret, claims()), kNow),
                 TokenError::alg_not_allowed);
  EXPECT_REFUSED(
      verifier.verify(libjwt_token(JWT_ALG_RS512, private_pem(rsa_current_), claims()), kNow),
      TokenError::alg_not_allowed);
  EXPECT_REFUSED(verifier.verify(make_token(header("PS256"), claims(), rs256(rsa_current_)), kNow),
                 TokenError::alg_not_allowed);
}

TEST_F(TokenVerifierTest, AnAlgWhoseKindHasNoKeyIsRefused) {
  TokenVerifier public_only(public_keys_only());
  EXPECT_REFUSED(public_only.verify(make_token(header("HS256"), claims(), hs256(kSecret)), kNow),
                 TokenError::alg_not_allowed);

  TokenVerifierConfig secret_only;
  secret_only.secret = kSecret;
  TokenVerifier verifier(secret_only);
  EXPECT_REFUSED(verifier.verify(make_token(header("RS256"), claims(), rs256(rsa_current_)), kNow),
                 TokenError::alg_not_allowed);
  EXPECT_REFUSED(verifier.verify(make_token(header("ES256"), claims(), es256(ec_current_)), kNow),
                 TokenError::alg_not_allowed);

  TokenVerifier no_keys(TokenVerifierConfig{});
  EXPECT_FALSE(no_keys.has_keys());
  EXPECT_REFUSED(no_keys.verify(make_token(header("HS256"), claims(), hs256(kSecret)), kNow),
                 TokenError::alg_not_allowed);
}

// The trap of issue 15: the public key is public, so an HMAC keyed with its PEM bytes is
// something anyone can compute.
TEST_F(TokenVerifierTest, Hs256KeyedWithAPublicKeysPemIsRefused) {
  for (EVP_PKEY* key : {rsa_current_, ec_current_}) {
    std::string pem = public_pem(key);
    // The file's bytes exactly, and the same without its final newline.
    for (const std::string& hmac_key : {pem, pem.substr(0, pem.size() - 1)}) {
      std::string forged = make_token(header("HS256"), claims(), hs256(hmac_key));
      std::string forged_with_kid =
          make_token(header("HS256", key == rsa_current_ ? "rsa-current" : "ec-current"), claims(),
                     hs256(hmac_key));
      // libjwt 1.10 alone takes the bait: handed the PEM, it verifies the HMAC with it.
      jwt_t* decoded = nullptr;
      EXPECT_EQ(jwt_decode(&decoded, forged.c_str(),
                           reinterpret_cast<const unsigned char*>(hmac_key.data()),
                           static_cast<int>(hmac_key.size())),
                0);
      jwt_free(decoded);

      TokenVerifier public_only(public_keys_only());
      EXPECT_REFUSED(public_only.verify(forged, kNow), TokenError::alg_not_allowed);
      EXPECT_REFUSED(public_only.verify(forged_with_kid, kNow), TokenError::alg_not_allowed);
      TokenVerifier with_secret(every_key());
      EXPECT_REFUSED(with_secret.verify(forged, kNow), TokenError::bad_signature);
      EXPECT_REFUSED(with_secret.verify(forged_with_kid, kNow), TokenError::bad_signature);
    }
  }
}

// Two "alg" members: nlohmann/json (the header as read here) and jansson (libjwt's reading) both
// keep the last one; were they ever to disagree, the check of libjwt's alg still refuses.
TEST_F(TokenVerifierTest, AHeaderWithTwoAlgsIsNeverVerifiedWithThePemAsHmacKey) {
  std::string pem = public_pem(rsa_current_);
  TokenVerifier verifier(every_key());
  const char* rs256_last = R"({"alg":"HS256","alg":"RS256"})";
  const char* hs256_last = R"({"alg":"RS256","alg":"HS256"})";
  for (const char* two_algs : {rs256_last, hs256_last}) {
    EXPECT_FALSE(
        verifier.verify(make_token_from_text(two_algs, claims().dump(), hs256(pem)), kNow).ok())
        << two_algs;
  }
  EXPECT_TRUE(
      verifier.verify(make_token_from_text(rs256_last, claims().dump(), rs256(rsa_current_)), kNow)
          .ok());
  EXPECT_TRUE(
      verifier.verify(make_token_from_text(hs256_last, claims().dump(), hs256(kSecret)), kNow)
          .ok());
}

// ---- Issuer and audience

TEST_F(TokenVerifierTest, IssuerAndAudienceAreCheckedWhenConfigured) {
  TokenVerifierConfig config = every_key();
  config.issuer = "https://news.example";
  config.audience = "newspush";
  TokenVerifier verifier(config);
  auto with = [](Json extra) {
    Json payload = claims();
    payload.update(extra);
    return make_token(header("HS256"), payload, hs256(kSecret));
  };
  Json good_iss{{"iss", "https://news.example"}};
  auto good = [&](Json aud) {
    Json extra = good_iss;
    extra["aud"] = aud;
    return with(extra);
  };
  EXPECT_TRUE(verifier.verify(good("newspush"), kNow).ok());
  EXPECT_TRUE(verifier.verify(good(Json::array({"shop", "newspush"})), kNow).ok());

  EXPECT_REFUSED(verifier.verify(good("shop"), kNow), TokenError::bad_audience);
  EXPECT_REFUSED(verifier.verify(good(Json::array({"shop", "comments"})), kNow),
                 TokenError::bad_audience);
  EXPECT_REFUSED(verifier.verify(good(Json::array()), kNow), TokenError::bad_audience);
  EXPECT_REFUSED(verifier.verify(good("NEWSPUSH"), kNow), TokenError::bad_audience);
  EXPECT_REFUSED(verifier.verify(good(Json::array({Json::array({"newspush"})})), kNow),
                 TokenError::bad_audience);
  EXPECT_REFUSED(verifier.verify(with(good_iss), kNow), TokenError::bad_audience);  // no aud

  EXPECT_REFUSED(
      verifier.verify(with({{"iss", "https://evil.example"}, {"aud", "newspush"}}), kNow),
      TokenError::bad_issuer);
  EXPECT_REFUSED(verifier.verify(with({{"iss", 7}, {"aud", "newspush"}}), kNow),
                 TokenError::bad_issuer);
  EXPECT_REFUSED(verifier.verify(with({{"aud", "newspush"}}), kNow), TokenError::bad_issuer);
}

TEST_F(TokenVerifierTest, UnconfiguredIssuerIsIgnoredButAnAudienceIsThenRefused) {
  TokenVerifier verifier(every_key());
  Json payload = claims();
  payload["iss"] = "https://anyone.example";
  EXPECT_TRUE(verifier.verify(make_token(header("HS256"), payload, hs256(kSecret)), kNow).ok());
  payload["aud"] = "someone-else";
  EXPECT_REFUSED(verifier.verify(make_token(header("HS256"), payload, hs256(kSecret)), kNow),
                 TokenError::bad_audience);
}

// ---- Claims

TEST_F(TokenVerifierTest, CategoriesMustBeAnArrayOfPatterns) {
  TokenVerifier verifier(every_key());
  auto with_categories = [](Json categories) {
    Json payload = claims();
    payload["categories"] = categories;
    return make_token(header("HS256"), payload, hs256(kSecret));
  };
  auto empty = verifier.verify(with_categories(Json::array()), kNow);
  ASSERT_TRUE(empty.ok()) << empty.detail;
  EXPECT_TRUE(empty.claims.categories.empty());

  for (const Json& bad :
       {Json("premium-*"), Json(nullptr), Json::object(), Json::array({"premium-*", "Premium"}),
        Json::array({"*"}), Json::array({"sport", 7}), Json::array({""}),
        Json::array({"premium-**"}), Json::array({Json::array({"sport"})}),
        Json::array({"abcdefghijklmnopqrstuvwxyz0123456"})}) {
    EXPECT_REFUSED(verifier.verify(with_categories(bad), kNow), TokenError::bad_claims)
        << bad.dump();
  }
}

TEST_F(TokenVerifierTest, SubMustBeAStringWhenPresent) {
  TokenVerifier verifier(every_key());
  Json payload = claims();
  payload["sub"] = 42;
  EXPECT_REFUSED(verifier.verify(make_token(header("HS256"), payload, hs256(kSecret)), kNow),
                 TokenError::bad_claims);
}

TEST_F(TokenVerifierTest, ClaimsAreReadOnlyOnceTheSignatureHolds) {
  TokenVerifier verifier(every_key());
  Json payload{{"categories", "not an array"}};  // bad claims and no exp, and forged
  EXPECT_REFUSED(verifier.verify(make_token(header("HS256"), payload, hs256("forger")), kNow),
                 TokenError::bad_signature);
}

// ---- Malformed and oversized

TEST_F(TokenVerifierTest, MalformedTokensAreRefusedAsSuch) {
  TokenVerifier verifier(every_key());
  std::string good = make_token(header("HS256"), claims(), hs256(kSecret));
  ASSERT_TRUE(verifier.verify(good, kNow).ok());
  std::string h = good.substr(0, good.find('.'));
  std::string p = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  std::string s = good.substr(good.rfind('.') + 1);

  std::vector<std::string> malformed = {
      "",
      ".",
      "..",
      "not-a-token",
      h + "." + p,                      // two segments
      h + "." + p + "." + s + "." + s,  // four
      h + "." + p + "." + s + ".",
      "!!!." + p + "." + s,    // not base64url
      h + "=." + p + "." + s,  // padding
      h + "." + p + "=." + s,
      h + " ." + p + "." + s,
      h + "." + p + "." + s + "\n",
      std::string(h + "." + p + "." + s).insert(3, 1, '\0'),
      std::string(h).replace(0, 1, "+") + "." + p + "." + s,  // standard base64, not base64url
      "A." + p + "." + s,  // a single base64 digit: not even one byte
      "." + p + "." + s,   // empty header
      h + ".." + s,        // empty payload
  };
  for (const auto& token : malformed) {
    EXPECT_REFUSED(verifier.verify(token, kNow), TokenError::malformed) << '"' << token << '"';
  }

  // Each signed properly, so that nothing but the shape is wrong.
  for (const char* bad_header :
       {"not json", "[\"HS256\"]", "\"HS256\"", "{}", R"({"alg":256})", R"({"alg":null})",
        R"({"alg":"HS256","kid":7})", R"({"alg":"HS256","typ":"at+jwt"})",
        R"({"alg":"HS256","typ":1})", R"({"alg":"HS256","crit":["exp"],"exp":1})",
        "{\"alg\":\"HS256\"} trailing", "{\"alg\":\"HS256\",\"x\":\"\xff\"}"}) {
    EXPECT_REFUSED(
        verifier.verify(make_token_from_text(bad_header, claims().dump(), hs256(kSecret)), kNow),
        TokenError::malformed)
        << bad_header;
  }
  for (const std::string& bad_payload :
       std::vector<std::string>{"not json", "[1,2]", "1750000600", "null",
                                std::string(100, '[') + std::string(100, ']')}) {
    EXPECT_REFUSED(
        verifier.verify(make_token_from_text(R"({"alg":"HS256"})", bad_payload, hs256(kSecret)),
                        kNow),
        TokenError::malformed)
        << bad_payload;
  }
  // typ is optional, and case-insensitive as libjwt has it.
  EXPECT_TRUE(
      verifier
          .verify(make_token_from_text(R"({"alg":"HS256"})", claims().dump(), hs256(kSecret)), kNow)
          .ok());
  EXPECT_TRUE(verifier
                  .verify(make_token_from_text(R"({"alg":"HS256","typ":"jwt"})", claims().dump(),
                                               hs256(kSecret)),
                          kNow)
                  .ok());
}

// base64url's last digit may carry unused bits; libjwt's decoder ignores them (and skips
// characters it does not know), so one signature would have several spellings.
TEST_F(TokenVerifierTest, NonCanonicalBase64IsMalformed) {
  TokenVerifier verifier(every_key());
  std::string good = make_token(header("RS256", "rsa-current"), claims(), rs256(rsa_current_));
  ASSERT_TRUE(verifier.verify(good, kNow).ok());
  // A 256-byte signature is 342 digits whose last carries 4 unused bits, here all zero.
  std::string respelled = good;
  char& last = respelled.back();
  last = last == 'A' ? 'B' : last == 'Q' ? 'R' : last == 'g' ? 'h' : last == 'w' ? 'x' : '?';
  ASSERT_NE(last, '?') << "the last digit of a canonical spelling ends in four zero bits";
  EXPECT_REFUSED(verifier.verify(respelled, kNow), TokenError::malformed);
}

TEST_F(TokenVerifierTest, TokensOver8KiBAreRefusedBeforeParsing) {
  TokenVerifier verifier(every_key());
  // 100 KB: a huge subject, signed properly.
  Json payload = claims();
  payload["sub"] = std::string(100 * 1024, 'x');
  std::string huge = make_token(header("HS256"), payload, hs256(kSecret));
  EXPECT_REFUSED(verifier.verify(huge, kNow), TokenError::too_large);
  // And 100 KB of anything: refused on its size alone, before any decoding.
  EXPECT_REFUSED(verifier.verify(std::string(100 * 1024, '.'), kNow), TokenError::too_large);

  // Exactly 8 KiB passes: the subject's length, and the (ignored) kid's, are tuned until the
  // token is that long, as base64 skips some lengths.
  std::string exact;
  Json sized = claims();
  for (std::size_t kid_length = 1; kid_length <= 4 && exact.empty(); ++kid_length) {
    for (std::size_t sub_length = 5900; sub_length < 6200 && exact.empty(); ++sub_length) {
      sized["sub"] = std::string(sub_length, 'y');
      std::string kid(kid_length, 'k');
      std::string token = make_token(header("HS256", kid.c_str()), sized, hs256(kSecret));
      if (token.size() == kMaxTokenBytes) exact = token;
    }
  }
  ASSERT_EQ(exact.size(), kMaxTokenBytes);
  EXPECT_TRUE(verifier.verify(exact, kNow).ok());
  // The same, a few bytes of subject longer, is refused on its size.
  sized["sub"] = sized["sub"].get<std::string>() + "yyyy";
  std::string one_more = make_token(header("HS256", "kkkk"), sized, hs256(kSecret));
  ASSERT_GT(one_more.size(), kMaxTokenBytes);
  EXPECT_REFUSED(verifier.verify(one_more, kNow), TokenError::too_large);
}

// ---- Start-up configuration

TEST_F(TokenVerifierTest, UnusableKeysStopTheStartWithAOneLineReason) {
  auto with_file = [](const std::filesystem::path& file) {
    TokenVerifierConfig config;
    config.public_key_files = {file};
    return config;
  };
  Pkey small_rsa(EVP_RSA_gen(1024));
  Pkey p384(EVP_EC_gen("P-384"));
  Pkey ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));

  struct Case {
    TokenVerifierConfig config;
    std::vector<std::string> message_parts;
  };
  TokenVerifierConfig short_secret;
  short_secret.secret = "too short";
  TokenVerifierConfig pem_secret;
  pem_secret.secret = public_pem(rsa_current_);
  TokenVerifierConfig same_id;
  same_id.public_key_files = {write_file("a/shared.pem", public_pem(rsa_current_)),
                              write_file("b/shared.pub", public_pem(ec_current_))};
  std::vector<Case> cases = {
      {with_file(key_file("missing.pem")), {"missing.pem", "cannot read"}},
      {with_file(*directory_), {"a directory"}},
      {with_file(write_file("text.pem", "hello\n")), {"text.pem", "not a PEM public key"}},
      {with_file(write_file("empty.pem", "")), {"empty.pem", "not a PEM public key"}},
      {with_file(write_file("private.pem", private_pem(rsa_current_))),
       {"private.pem", "private key"}},
      {with_file(write_file("small.pem", public_pem(small_rsa.get()))), {"small.pem", "1024 bits"}},
      {with_file(write_file("p384.pem", public_pem(p384.get()))),
       {"p384.pem", "secp384r1", "P-256"}},
      {with_file(write_file("ed.pem", public_pem(ed25519.get()))), {"ed.pem", "neither"}},
      {with_file(write_file("big.pem", std::string(70 * 1024, 'x'))), {"big.pem", "64 KiB"}},
      {short_secret, {"secret", "9 bytes", "32"}},
      {pem_secret, {"secret", "PEM"}},
      {same_id, {"shared.pub", "\"shared\"", "already taken"}},
  };
  for (const auto& c : cases) {
    std::string message = construction_error(c.config);
    ASSERT_FALSE(message.empty()) << "accepted: " << ::testing::PrintToString(c.message_parts);
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const auto& part : c.message_parts) EXPECT_THAT(message, HasSubstr(part));
  }
}

TEST_F(TokenVerifierTest, AKeyFileMayHoldMoreThanTheKey) {
  // Comments before the PEM block, as some key tools write; the key's id is still the stem.
  TokenVerifierConfig config;
  config.public_key_files = {write_file(
      "with-notes.key.pem", "issued 2025-06 by the site team\n" + public_pem(rsa_current_))};
  TokenVerifier verifier(config);
  auto result = verifier.verify(
      make_token(header("RS256", "with-notes.key"), claims(), rs256(rsa_current_)), kNow);
  ASSERT_TRUE(result.ok()) << result.detail;
  EXPECT_EQ(result.claims.key_id, "with-notes.key");
}

// ---- Labels and threads

TEST(TokenError, LabelsAreStableSnakeCase) {
  EXPECT_EQ(to_string(TokenError::none), "ok");
  EXPECT_EQ(to_string(TokenError::malformed), "malformed");
  EXPECT_EQ(to_string(TokenError::too_large), "too_large");
  EXPECT_EQ(to_string(TokenError::alg_not_allowed), "alg_not_allowed");
  EXPECT_EQ(to_string(TokenError::unknown_key), "unknown_key");
  EXPECT_EQ(to_string(TokenError::bad_signature), "bad_signature");
  EXPECT_EQ(to_string(TokenError::expired), "expired");
  EXPECT_EQ(to_string(TokenError::not_yet_valid), "not_yet_valid");
  EXPECT_EQ(to_string(TokenError::missing_exp), "missing_exp");
  EXPECT_EQ(to_string(TokenError::bad_issuer), "bad_issuer");
  EXPECT_EQ(to_string(TokenError::bad_audience), "bad_audience");
  EXPECT_EQ(to_string(TokenError::bad_claims), "bad_claims");
}

TEST_F(TokenVerifierTest, ManyThreadsVerifyAtOnce) {
  const TokenVerifier verifier(every_key());
  struct Case {
    std::string token;
    TokenError expected;
  };
  std::string pem = public_pem(rsa_current_);
  const std::vector<Case> cases = {
      {make_token(header("HS256"), claims(), hs256(kSecret)), TokenError::none},
      {make_token(header("RS256"), claims(), rs256(rsa_previous_)), TokenError::none},
      {make_token(header("RS256", "rsa-current"), claims(), rs256(rsa_current_)), TokenError::none},
      {make_token(header("ES256"), claims(), es256(ec_current_)), TokenError::none},
      {make_token(header("ES256"), claims(), es256(ec_stranger_)), TokenError::bad_signature},
      {make_token(header("RS256"), claims(), rs256(rsa_stranger_)), TokenError::bad_signature},
      {make_token(header("HS256"), claims(), hs256(pem)), TokenError::bad_signature},
      {make_token(header("HS256"), claims(-1), hs256(kSecret)), TokenError::expired},
      {make_token(header("none"), claims(), unsigned_token()), TokenError::alg_not_allowed},
      {"garbage", TokenError::malformed},
  };
  std::atomic<int> mismatches{0};
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 25; ++round) {
        for (std::size_t i = 0; i < cases.size(); ++i) {
          const Case& c = cases[(i + t) % cases.size()];  // each thread in its own order
          auto result = verifier.verify(c.token, kNow);
          if (result.error != c.expected) ++mismatches;
          if (result.ok() && result.claims.subject != "reader-42") ++mismatches;
          ++verified;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(verified.load(), 4 * 25 * static_cast<int>(cases.size()));
}

}  // namespace
}  // namespace newspush::auth

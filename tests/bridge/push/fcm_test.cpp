#include "bridge/push/fcm.hpp"

#include <gtest/gtest.h>

#include "tests/bridge/push/test_keys.hpp"

namespace newspush::bridge {
namespace {

namespace keys = test::bridge_keys;
using std::chrono::seconds;

const std::chrono::system_clock::time_point kNow{seconds(1795890100)};

std::string service_account_json(nlohmann::json changes = nlohmann::json::object()) {
  nlohmann::json account = {{"type", "service_account"},
                            {"project_id", "exemple-news"},
                            {"private_key_id", "0123456789abcdef"},
                            {"private_key", keys::pkcs8_pem(keys::shared_rsa_key())},
                            {"client_email", "bridge@exemple-news.iam.gserviceaccount.com"},
                            {"token_uri", "https://oauth2.googleapis.com/token"}};
  account.merge_patch(changes);
  return account.dump();
}

ArticleNotification article(bool breaking) {
  ArticleNotification a;
  a.id = "eco-77";
  a.category = "economie";
  a.breaking = breaking;
  a.title = "L’inflation ralentit en avril";
  a.body = "Les prix ont progressé de 2,2 % sur un an.";
  a.url = "https://exemple.fr/eco/77";
  return a;
}

TEST(FcmServiceAccount, AssertionIsAnRs256JwtForTheTokenUri) {
  auto account = FcmServiceAccount::parse(service_account_json());
  EXPECT_EQ(account.project_id(), "exemple-news");
  auto assertion = account.assertion(kNow);
  ASSERT_TRUE(assertion);
  auto decoded = keys::decode_and_check(*assertion, keys::shared_rsa_key(), /*es256=*/false);
  EXPECT_TRUE(decoded.signature_ok);
  EXPECT_EQ(decoded.header,
            (nlohmann::json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "0123456789abcdef"}}));
  EXPECT_EQ(decoded.claims,
            (nlohmann::json{{"iss", "bridge@exemple-news.iam.gserviceaccount.com"},
                            {"scope", "https://www.googleapis.com/auth/firebase.messaging"},
                            {"aud", "https://oauth2.googleapis.com/token"},
                            {"iat", 1795890100},
                            {"exp", 1795890100 + 3600}}));
}

TEST(FcmServiceAccount, TokenUriComesFromTheCredentials) {
  auto account = FcmServiceAccount::parse(
      service_account_json({{"token_uri", "http://127.0.0.1:39002/token"}}));
  EXPECT_EQ(account.token_uri(), "http://127.0.0.1:39002/token");
  auto decoded = keys::decode_and_check(*account.assertion(kNow), keys::shared_rsa_key(), false);
  EXPECT_EQ(decoded.claims["aud"], "http://127.0.0.1:39002/token");
}

TEST(FcmServiceAccount, StartUpNamesWhatIsWrong) {
  auto expect_error = [](const std::string& json, std::string_view needle) {
    try {
      FcmServiceAccount::parse(json);
      ADD_FAILURE() << "accepted";
    } catch (const std::runtime_error& error) {
      EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
    }
  };
  expect_error("not json", "not a JSON object");
  expect_error(service_account_json({{"type", "authorized_user"}}), "\"type\"");
  expect_error(service_account_json({{"client_email", nullptr}}), "\"client_email\"");
  expect_error(service_account_json({{"token_uri", ""}}), "\"token_uri\"");
  expect_error(service_account_json({{"token_uri", "oauth2.googleapis.com/token"}}),
               "\"token_uri\"");
  expect_error(service_account_json({{"project_id", 3}}), "\"project_id\"");
  expect_error(
      service_account_json(
          {{"private_key", "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n"}}),
      "private_key");
  expect_error(
      service_account_json({{"private_key", keys::pkcs8_pem(keys::make_p256_key().get())}}),
      "not an RSA private key");
}

TEST(FcmToken, RequestBodyIsFormEncoded) {
  EXPECT_EQ(fcm_token_request_body("aa.bb.cc"),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=aa.bb.cc");
}

TEST(FcmToken, ParsesTheAnswer) {
  auto token = parse_fcm_token_response(
      R"({"access_token":"ya29.c","expires_in":3599,"token_type":"Bearer"})");
  ASSERT_TRUE(token.ok()) << token.error;
  EXPECT_EQ(token.access_token, "ya29.c");
  EXPECT_EQ(token.expires_in, seconds(3599));
  EXPECT_EQ(parse_fcm_token_response(R"({"access_token":"x","expires_in":99999999})").expires_in,
            seconds(86400));
  for (std::string_view bad :
       {"", "[]", R"({"error":"invalid_grant","error_description":"Invalid JWT"})",
        R"({"access_token":"","expires_in":3599})", R"({"access_token":"x"})",
        R"({"access_token":"x","expires_in":"3599"})", R"({"access_token":"x","expires_in":-1})",
        R"({"access_token":"x","expires_in":3599,"token_type":"MAC"})"}) {
    auto answer = parse_fcm_token_response(bad);
    EXPECT_FALSE(answer.ok()) << bad;
    EXPECT_FALSE(answer.error.empty());
  }
  EXPECT_NE(parse_fcm_token_response(R"({"error":"invalid_grant"})").error.find("invalid_grant"),
            std::string::npos);
}

TEST(FcmMessage, BreakingToATokenIsHighPriorityWithCollapseKeyAndTtl) {
  auto message =
      build_fcm_message(article(true), FcmTarget{FcmTarget::Kind::token, "dGVzdA:APA91bH"},
                        FcmOptions{seconds(3600)});
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(
      message.json,
      R"({"message":{"token":"dGVzdA:APA91bH","notification":{"title":"L’inflation ralentit en avril","body":"Les prix ont progressé de 2,2 % sur un an."},"data":{"article_id":"eco-77","category":"economie","breaking":"true","url":"https://exemple.fr/eco/77"},"android":{"priority":"high","collapse_key":"eco-77","ttl":"3600s"}}})");
}

TEST(FcmMessage, OrdinaryNewsToATopicIsNormalPriority) {
  auto message =
      build_fcm_message(article(false), FcmTarget{FcmTarget::Kind::topic, "news-economie"});
  ASSERT_TRUE(message.ok());
  auto json = nlohmann::json::parse(message.json);
  EXPECT_EQ(json["message"]["topic"], "news-economie");
  EXPECT_FALSE(json["message"].contains("token"));
  EXPECT_EQ(json["message"]["android"]["priority"], "normal");
  EXPECT_EQ(json["message"]["android"]["ttl"], "86400s");
  EXPECT_EQ(json["message"]["data"]["breaking"], "false");
}

TEST(FcmMessage, RefusesBadTargets) {
  auto a = article(false);
  EXPECT_EQ(build_fcm_message(a, FcmTarget{FcmTarget::Kind::token, ""}).error,
            PayloadError::bad_target);
  EXPECT_EQ(build_fcm_message(a, FcmTarget{FcmTarget::Kind::token, "a\"b"}).error,
            PayloadError::bad_target);
  EXPECT_EQ(build_fcm_message(a, FcmTarget{FcmTarget::Kind::topic, "news/eco"}).error,
            PayloadError::bad_target);
  EXPECT_EQ(build_fcm_message(a, FcmTarget{FcmTarget::Kind::token, std::string(2000, 'a')}).error,
            PayloadError::bad_target);
}

TEST(FcmMessage, LongFrenchTextIsCutAtACharacterWithin4KB) {
  auto a = article(true);
  a.body.clear();
  while (a.body.size() < 8000) a.body += "é";  // two bytes each: a cut could land mid-character
  auto message = build_fcm_message(a, FcmTarget{FcmTarget::Kind::token, "tok"});
  ASSERT_TRUE(message.ok());
  EXPECT_TRUE(message.shortened);
  EXPECT_LE(message.json.size(), kMaxFcmMessageBytes);
  auto json = nlohmann::json::parse(message.json);  // throws on invalid UTF-8
  std::string body = json["message"]["notification"]["body"];
  EXPECT_TRUE(body.ends_with("é…"));
}

TEST(FcmMessage, SendPath) {
  EXPECT_EQ(fcm_send_path("exemple-news"), "/v1/projects/exemple-news/messages:send");
}

}  // namespace
}  // namespace newspush::bridge

#include "bridge/push/apns.hpp"

#include <gtest/gtest.h>

#include "tests/bridge/push/test_keys.hpp"

namespace newspush::bridge {
namespace {

namespace keys = test::bridge_keys;
using std::chrono::seconds;

const std::chrono::system_clock::time_point kNow{seconds(1795890100)};

ArticleNotification article(bool breaking) {
  ArticleNotification a;
  a.id = "spo-2026-88";
  a.category = "sports";
  a.breaking = breaking;
  a.title = "Victoire à Lyon";
  a.body = "L’OL s’impose 2-1 après prolongation.";
  a.url = "https://exemple.fr/sports/88";
  return a;
}

TEST(ApnsToken, IsEs256WithKidIssAndIatFromAP8Key) {
  auto key = keys::make_p256_key();
  auto signer = ApnsTokenSigner::from_p8(keys::pkcs8_pem(key.get()), "ABC123DEFG", "DEF123GHIJ");
  auto token = signer.provider_token(kNow);
  ASSERT_TRUE(token);
  auto decoded = keys::decode_and_check(*token, key.get(), /*es256=*/true);
  EXPECT_TRUE(decoded.signature_ok);
  EXPECT_EQ(decoded.header, (nlohmann::json{{"alg", "ES256"}, {"kid", "ABC123DEFG"}}));
  EXPECT_EQ(decoded.claims, (nlohmann::json{{"iss", "DEF123GHIJ"}, {"iat", 1795890100}}));
}

TEST(ApnsToken, StartUpRefusesBadIdsAndKeys) {
  std::string pem = keys::pkcs8_pem(keys::make_p256_key().get());
  EXPECT_THROW(ApnsTokenSigner::from_p8(pem, "", "DEF123GHIJ"), std::runtime_error);
  EXPECT_THROW(ApnsTokenSigner::from_p8(pem, "ABC123DEFG", "bad team"), std::runtime_error);
  EXPECT_THROW(ApnsTokenSigner::from_p8(pem, "ABC\"123", "DEF123GHIJ"), std::runtime_error);
  EXPECT_THROW(
      ApnsTokenSigner::from_p8(keys::pkcs8_pem(keys::shared_rsa_key()), "ABC123DEFG", "DEF123GHIJ"),
      std::runtime_error);
}

TEST(ApnsRequest, BreakingNewsHasPriority10AndTheArticlesIds) {
  auto request = build_apns_request(article(true),
                                    ApnsOptions{"fr.exemple.news", std::chrono::hours(1), kNow});
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(
      request.payload,
      R"({"aps":{"alert":{"title":"Victoire à Lyon","body":"L’OL s’impose 2-1 après prolongation."},"thread-id":"sports"},"article_id":"spo-2026-88","category":"sports","url":"https://exemple.fr/sports/88"})");
  EXPECT_EQ(request.headers.push_type, "alert");
  EXPECT_EQ(request.headers.priority, "10");
  EXPECT_EQ(request.headers.collapse_id, "spo-2026-88");
  EXPECT_EQ(request.headers.expiration, "1795893700");
  EXPECT_EQ(request.headers.topic, "fr.exemple.news");
}

TEST(ApnsRequest, OrdinaryNewsHasPriority5) {
  auto request =
      build_apns_request(article(false), ApnsOptions{"fr.exemple.news", seconds(60), kNow});
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request.headers.priority, "5");
}

TEST(ApnsRequest, CollapseIdStaysWithin64BytesForLongIds) {
  auto a = article(true);
  a.id = std::string(128, 'x');
  auto request = build_apns_request(a, ApnsOptions{"t", seconds(60), kNow});
  ASSERT_TRUE(request.ok());
  EXPECT_LE(request.headers.collapse_id.size(), kMaxApnsCollapseIdBytes);
  EXPECT_EQ(request.headers.collapse_id, apns_collapse_id(a.id));  // the same on every retry
  // The payload still names the article in full.
  EXPECT_EQ(nlohmann::json::parse(request.payload)["article_id"], a.id);
  EXPECT_EQ(apns_collapse_id(std::string(64, 'y')), std::string(64, 'y'));
}

TEST(ApnsRequest, LongBodyIsCutToFit4KB) {
  auto a = article(true);
  a.body.clear();
  while (a.body.size() < 6000) a.body += "Le public lyonnais a célébré très tard dans la nuit. ";
  auto request = build_apns_request(a, ApnsOptions{"t", seconds(60), kNow});
  ASSERT_TRUE(request.ok());
  EXPECT_TRUE(request.shortened);
  EXPECT_LE(request.payload.size(), kMaxApnsPayloadBytes);
  auto json = nlohmann::json::parse(request.payload);
  EXPECT_EQ(json["aps"]["alert"]["title"], "Victoire à Lyon");
}

}  // namespace
}  // namespace newspush::bridge

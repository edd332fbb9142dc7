#include "bridge/push/web_push_payload.hpp"

#include <gtest/gtest.h>

namespace newspush::bridge {
namespace {

ArticleNotification article() {
  ArticleNotification a;
  a.id = "pol-2026-1203";
  a.category = "politique";
  a.breaking = true;
  a.title = "Élection : l’Assemblée adopte le budget";
  a.body = "Le texte a été voté à 289 voix contre 252, après un débat tendu à l’hémicycle.";
  a.url = "https://exemple.fr/politique/budget";
  return a;
}

TEST(WebPushPayload, CarriesTitleBodyUrlAndTagWithAccentsIntact) {
  auto payload = build_web_push_payload(article());
  ASSERT_TRUE(payload.ok());
  EXPECT_FALSE(payload.shortened);
  EXPECT_EQ(
      payload.json,
      R"({"title":"Élection : l’Assemblée adopte le budget","body":"Le texte a été voté à 289 voix contre 252, après un débat tendu à l’hémicycle.","url":"https://exemple.fr/politique/budget","tag":"pol-2026-1203","category":"politique","breaking":true})");
}

TEST(WebPushPayload, LongTextIsShortenedToFitOneRecord) {
  auto a = article();
  a.body.clear();
  while (a.body.size() < 10000) a.body += "Député·es, sénateurs et ministres débattent. ";
  auto payload = build_web_push_payload(a);
  ASSERT_TRUE(payload.ok());
  EXPECT_TRUE(payload.shortened);
  EXPECT_LE(payload.json.size(), kMaxWebPushPlaintext);
  EXPECT_GT(payload.json.size(), kMaxWebPushPlaintext - 64);  // not cut far more than needed
  auto json = nlohmann::json::parse(payload.json);            // still valid JSON and UTF-8
  EXPECT_EQ(json["tag"], "pol-2026-1203");
  EXPECT_EQ(json["url"], "https://exemple.fr/politique/budget");
  std::string body = json["body"];
  EXPECT_TRUE(body.ends_with("…"));
}

TEST(WebPushPayload, TextFullOfEscapesStillFits) {
  auto a = article();
  a.body = std::string(5000, '"');      // each byte becomes two in JSON
  a.title = std::string(3000, '\x01');  // each byte becomes six
  auto payload = build_web_push_payload(a);
  ASSERT_TRUE(payload.ok());
  EXPECT_LE(payload.json.size(), kMaxWebPushPlaintext);
  EXPECT_TRUE(nlohmann::json::accept(payload.json));
}

TEST(WebPushPayload, HeadersFollowBreakingAndTheId) {
  auto a = article();
  auto headers = build_web_push_headers(a, std::chrono::hours(24));
  EXPECT_EQ(headers.ttl, "86400");
  EXPECT_EQ(headers.urgency, "high");
  EXPECT_EQ(headers.topic, "pol-2026-1203");
  a.breaking = false;
  EXPECT_EQ(build_web_push_headers(a, std::chrono::seconds(60)).urgency, "normal");
}

TEST(WebPushPayload, TopicIsAtMost32Base64urlCharacters) {
  EXPECT_EQ(web_push_topic("abc_DEF-123"), "abc_DEF-123");
  for (std::string id :
       {std::string(33, 'a'), std::string("soc.2024/04"), std::string("société")}) {
    std::string topic = web_push_topic(id);
    EXPECT_EQ(topic.size(), 32u) << id;
    EXPECT_EQ(
        topic.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    EXPECT_EQ(topic, web_push_topic(id));
  }
}

}  // namespace
}  // namespace newspush::bridge

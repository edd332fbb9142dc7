// Subscriber-only categories: connection tokens (JWT) signed here with OpenSSL, checked by a real
// newspushd against a real redis-server; what anonymous readers and token holders receive, live,
// in breaking news and in resumes, and what happens when a token expires mid-stream.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/test_tokens.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using nlohmann::json;
using namespace tokens;
using Clock = std::chrono::system_clock;

const std::string kSecret = "the newsroom's HS256 secret, 32 bytes or more";

long now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

json claims(long expires_in, json categories = json::array({"premium-*"})) {
  return {{"sub", "reader-7"}, {"exp", now_seconds() + expires_in}, {"categories", categories}};
}

std::string hs256_token(const json& payload) {
  return make_token({{"alg", "HS256"}, {"typ", "JWT"}}, payload, hs256(kSecret));
}

std::vector<std::string> event_types(WsClient& client, std::size_t n) {
  std::vector<std::string> types;
  for (std::size_t i = 0; i < n; ++i) {
    auto event = client.next_event();
    if (!event) break;
    types.push_back((*event)["type"]);
  }
  return types;
}

class TokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/newspush-token-it-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    directory_ = new std::filesystem::path(pattern);
    rsa_ = EVP_RSA_gen(2048);
    ec_ = EVP_EC_gen("P-256");
    std::ofstream(*directory_ / "rsa-2026.pem") << public_pem(rsa_);
    std::ofstream(*directory_ / "ec-2026.pem") << public_pem(ec_);
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(ec_);
    std::filesystem::remove_all(*directory_);
    delete directory_;
  }

  std::unique_ptr<NewspushdProcess> start_node(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--restricted-category", "premium-*", "--restricted-category",
                                  "live-blog", "--token-secret", kSecret,
                                  "--token-public-key", (*directory_ / "rsa-2026.pem").string(),
                                  "--token-public-key", (*directory_ / "ec-2026.pem").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto node = std::make_unique<NewspushdProcess>(redis_.url(), args);
    EXPECT_TRUE(node->wait_ready()) << node->output();
    return node;
  }
  // A connection past its welcome, with `token` sent by the auth command (empty: anonymous).
  std::unique_ptr<WsClient> reader(NewspushdProcess& node, const std::string& token = {}) {
    auto client = WsClient::connect(node.port());
    EXPECT_TRUE(client->next_event_of_type("welcome"));
    if (!token.empty()) {
      client->send_text(json({{"op", "auth"}, {"token", token}}).dump());
      auto answer = client->next_event();
      EXPECT_TRUE(answer && (*answer)["type"] == "authenticated") << (answer ? answer->dump() : "none");
    }
    return client;
  }

  static inline std::filesystem::path* directory_ = nullptr;
  static inline EVP_PKEY* rsa_ = nullptr;
  static inline EVP_PKEY* ec_ = nullptr;
  RedisServer redis_;
};

TEST_F(TokenTest, AnonymousReadersGetPublicNewsOnlyEvenBreakingAndAreToldWhatIsForbidden) {
  auto node = start_node();
  auto anonymous = reader(*node);
  anonymous->send_text(R"({"op":"subscribe","categories":["sports","premium-foot","live-blog"]})");
  auto subscribed = anonymous->next_event();
  ASSERT_TRUE(subscribed);
  EXPECT_EQ((*subscribed)["categories"], json({"sports"}));  // the rest of the command applied
  auto forbidden = anonymous->next_event();
  ASSERT_TRUE(forbidden);
  EXPECT_EQ((*forbidden)["code"], "forbidden");
  EXPECT_EQ((*forbidden)["category"], "premium-foot");
  EXPECT_EQ((*anonymous->next_event())["category"], "live-blog");
  auto everything = reader(*node);
  ASSERT_TRUE(everything->subscribe({"*"}));
  auto subscriber = reader(*node, hs256_token(claims(600)));
  ASSERT_TRUE(subscriber->subscribe({"*"}));

  publish(redis_, make_article("p1", "premium-foot"));
  publish(redis_, make_article("p2", "premium-foot", /*breaking=*/true));  // never to everyone
  publish(redis_, make_article("l1", "live-blog"));  // restricted, and not in the token
  publish(redis_, make_article("s1", "sports"));
  EXPECT_THAT(ids_of(subscriber->collect_articles(3)), ElementsAre("p1", "p2", "s1"));
  EXPECT_THAT(ids_of(everything->collect_articles(1)), ElementsAre("s1"));
  EXPECT_THAT(ids_of(anonymous->collect_articles(1)), ElementsAre("s1"));
}

TEST_F(TokenTest, EachAlgorithmVerifiesWithItsOwnKeysAndEveryBadTokenIsRefusedByReason) {
  auto node = start_node();
  const json header_rs{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "rsa-2026"}};
  const json header_es{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", "ec-2026"}};
  for (const auto& token : {hs256_token(claims(600)), make_token(header_rs, claims(600), rs256(rsa_)),
                            make_token(header_es, claims(600), es256(ec_))}) {
    // ?token= on the URL does what the auth command does.
    auto client = WsClient::connect(node->port(), "/ws?token=" + token);
    EXPECT_THAT(event_types(*client, 2), ElementsAre("welcome", "authenticated"));
    auto answer = client->subscribe({"premium-foot"});
    ASSERT_TRUE(answer);
    EXPECT_EQ((*answer)["categories"], json({"premium-foot"}));
  }

  std::string public_key_bytes = public_pem(rsa_);
  json no_exp = claims(600);
  no_exp.erase("exp");
  json not_yet = claims(600);
  not_yet["nbf"] = now_seconds() + 300;
  std::string good = hs256_token(claims(600));
  std::string tampered = good.substr(0, good.rfind('.') + 1) + base64url(std::string(32, 'x'));
  const std::vector<std::pair<std::string, std::string>> refused{
      {hs256_token(claims(-5)), "expired"},
      {hs256_token(not_yet), "not_yet_valid"},
      {hs256_token(no_exp), "missing_exp"},
      {tampered, "bad_signature"},
      {make_token({{"alg", "none"}, {"typ", "JWT"}}, claims(600), unsigned_token()), "alg_not_allowed"},
      // The public key's PEM used as an HMAC secret: what a confused verifier would accept.
      {make_token({{"alg", "HS256"}, {"typ", "JWT"}}, claims(600), hs256(public_key_bytes)),
       "bad_signature"},
      {make_token({{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "rsa-1999"}}, claims(600), rs256(rsa_)),
       "unknown_key"},
      {hs256_token(claims(600, json::array({"premium-*", "Not A Slug"}))), "bad_claims"},
      {"not.a.token", "malformed"},
  };
  for (const auto& [token, reason] : refused) {
    auto client = reader(*node);
    client->send_text(json({{"op", "auth"}, {"token", token}}).dump());
    auto answer = client->next_event();
    ASSERT_TRUE(answer) << reason;
    EXPECT_EQ((*answer)["code"], "invalid_token") << reason;
    EXPECT_EQ((*answer)["reason"], reason);
    // Still anonymous, still connected.
    client->send_text(R"({"op":"subscribe","categories":["premium-foot","sports"]})");
    EXPECT_EQ((*client->next_event())["categories"], json({"sports"})) << reason;
    EXPECT_EQ((*client->next_event())["code"], "forbidden") << reason;
  }
  EXPECT_EQ(node->metric("newspush_tokens_total{result=\"expired\"}"), 1);
  EXPECT_EQ(node->metric("newspush_tokens_total{result=\"bad_signature\"}"), 2);
  EXPECT_EQ(node->metric("newspush_tokens_total{result=\"ok\"}"), 3);
  // A 100 KB token never gets as far as the verifier: the request head is capped.
  auto huge = http_request(node->port(), "GET", "/ws?token=" + std::string(100 * 1024, 'a'));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 431);
}

TEST_F(TokenTest, ATokenExpiringMidStreamStopsRestrictedNewsAtItsExpUnlessRefreshed) {
  auto node = start_node({"--token-expiry-lead", "2"});
  const long expires = now_seconds() + 3;
  json short_lived = claims(0);
  short_lived["exp"] = expires;
  // Lapses with public news too: keeps the public ones. Refreshes: carries on. Lapses with only
  // restricted ones: closed.
  auto lapsing = reader(*node, hs256_token(short_lived));
  ASSERT_TRUE(lapsing->subscribe({"premium-foot", "sports"}));
  auto refreshing = reader(*node, hs256_token(short_lived));
  ASSERT_TRUE(refreshing->subscribe({"premium-foot"}));
  auto restricted_only = reader(*node, hs256_token(short_lived));
  ASSERT_TRUE(restricted_only->subscribe({"premium-foot"}));

  // The newsroom publishes a premium and a public article every 50 ms until well past exp; each
  // says when it was published.
  std::atomic<bool> stop{false};
  std::vector<std::string> premium_ids;
  std::thread newsroom([&] {
    for (int i = 0; !stop && i < 400; ++i) {
      json premium = make_article("p" + std::to_string(i), "premium-foot");
      premium["published_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    Clock::now().time_since_epoch()).count();
      publish(redis_, premium);
      premium_ids.push_back(premium["id"]);
      publish(redis_, make_article("s" + std::to_string(i), "sports"));
      std::this_thread::sleep_for(50ms);
    }
  });

  // The refreshing reader answers the reminder with a fresh token on the live connection.
  std::vector<std::string> refreshed_ids;
  bool refreshed = false;
  while (auto event = refreshing->next_event(8s)) {
    if ((*event)["type"] == "token_expiring" && !refreshed) {
      EXPECT_EQ((*event)["exp"], expires);
      refreshing->send_text(json({{"op", "auth"}, {"token", hs256_token(claims(600))}}).dump());
      refreshed = true;
    }
    if ((*event)["type"] == "article") refreshed_ids.push_back((*event)["article"]["id"]);
    if (refreshed_ids.size() >= 80) break;  // about 4 s of premium news: past the first exp
  }
  stop = true;
  newsroom.join();
  EXPECT_TRUE(refreshed);
  // No gap, no duplicate across the refresh: p0, p1, ... in order.
  ASSERT_GE(refreshed_ids.size(), 80u);
  for (std::size_t i = 0; i < refreshed_ids.size(); ++i) EXPECT_EQ(refreshed_ids[i], premium_ids[i]);

  // The lapsing reader: reminded, then told, then public news only; never a premium article
  // published at or after its exp.
  std::vector<std::string> types;
  std::size_t sports_after = 0;
  bool expired_seen = false;
  while (auto event = lapsing->next_event(3s)) {
    std::string type = (*event)["type"];
    types.push_back(type);
    if (type == "error") {
      EXPECT_EQ((*event)["code"], "token_expired");
      EXPECT_EQ((*event)["categories"], json({"premium-foot"}));
      expired_seen = true;
    }
    if (type != "article") continue;
    if ((*event)["category"] == "premium-foot") {
      EXPECT_FALSE(expired_seen);
      EXPECT_LT((*event)["article"]["published_ms"].get<long>(), expires * 1000);
    } else if (expired_seen) {
      ++sports_after;
    }
  }
  EXPECT_THAT(types, Contains("token_expiring"));
  EXPECT_TRUE(expired_seen);
  EXPECT_GT(sports_after, 0u);

  // The reader with nothing but restricted news is closed with 4001.
  EXPECT_TRUE(restricted_only->next_event_of_type("error", 10s));
  EXPECT_TRUE(restricted_only->wait_closed(10s));
  EXPECT_EQ(restricted_only->close_code(), 4001);
  EXPECT_GE(node->metric("newspush_token_expiries_total"), 2);
}

TEST_F(TokenTest, ResumesReplayRestrictedNewsOnlyToThoseAllowed) {
  auto node = start_node();
  std::string since = publish(redis_, make_article("s0", "sports"));
  publish(redis_, make_article("p1", "premium-foot"));
  publish(redis_, make_article("b1", "premium-foot", /*breaking=*/true));
  publish(redis_, make_article("s1", "sports"));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 4));
  auto resume = [&](const std::string& token) {
    auto client = reader(*node, token);
    client->send_text(json({{"op", "subscribe"}, {"categories", {"*"}}, {"since", since}}).dump());
    return ids_of(client->collect_articles(token.empty() ? 1 : 3));
  };
  EXPECT_THAT(resume(""), ElementsAre("s1"));
  EXPECT_THAT(resume(hs256_token(claims(600))), ElementsAre("p1", "b1", "s1"));
  // Over SSE too, with the token in the URL.
  SseClient stream(node->port(), "/sse?categories=*&since=" + since);
  auto first = stream.articles(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].json()["article"]["id"], "s1");
  SseClient allowed(node->port(), "/sse?categories=*&since=" + since + "&token=" + hs256_token(claims(600)));
  EXPECT_TRUE(allowed.next_of_type("authenticated"));
  auto all = allowed.articles(3);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].json()["article"]["id"], "p1");
}

TEST_F(TokenTest, ArticleAndTrendingListsLeaveOutWhatTheReaderMayNotSee) {
  const std::string key = "token-test-publish-key-0123456789";
  auto node = start_node({"--trending-interval", "200ms", "--publish-key", key});
  publish(redis_, make_article("p1", "premium-foot"));
  publish(redis_, make_article("s1", "sports"));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 2));
  const std::pair<std::string, std::string> bearer{"Authorization", "Bearer " + hs256_token(claims(600))};
  auto listed = [&](const std::string& target, std::vector<std::pair<std::string, std::string>> headers) {
    auto response = http_request(node->port(), "GET", target, {}, std::move(headers));
    EXPECT_TRUE(response) << target;
    return response.value_or(HttpResponse{});
  };
  auto ids = [](const HttpResponse& response) {
    std::vector<std::string> out;
    EXPECT_EQ(response.status, 200) << response.body;
    json list = json::parse(response.body);
    for (const auto& event : list["events"]) out.push_back(event["article"]["id"]);
    return out;
  };
  // Anonymous readers get the public articles; a token holder what its token allows too.
  EXPECT_THAT(ids(listed("/api/v1/articles?category=*", {})), ElementsAre("s1"));
  EXPECT_THAT(ids(listed("/api/v1/articles?category=*", {bearer})), ElementsAre("s1", "p1"));
  EXPECT_EQ(listed("/api/v1/articles?category=premium-foot", {}).status, 403);
  EXPECT_THAT(ids(listed("/api/v1/articles?category=premium-foot", {bearer})), ElementsAre("p1"));
  auto refused = listed("/api/v1/articles?category=*", {{"Authorization", "Bearer " + hs256_token(claims(-1))}});
  EXPECT_EQ(refused.status, 401);
  EXPECT_THAT(refused.body, ::testing::HasSubstr("expired"));

  // p1 is read the most; the overall list, which everyone may read, still leaves it out.
  json views = json::array();
  for (int i = 0; i < 5; ++i) views.push_back({{"article", "p1"}});
  views.push_back({{"article", "s1"}});
  auto posted = http_request(node->port(), "POST", "/api/v1/views", views.dump(),
                             {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  auto list_of = [&](const std::string& category, std::vector<std::pair<std::string, std::string>> headers) {
    json list;
    for (int i = 0; i < 200; ++i) {  // each answer is the node's newest list: until it has items
      auto response = listed("/api/v1/trending?category=" + category, headers);
      if (response.status != 200) return json{{"status", response.status}};
      list = json::parse(response.body);
      if (!list["items"].empty()) return list;
      node->wait_metric_at_least("newspush_trending_lists_received_total",
                                 node->metric("newspush_trending_lists_received_total") + 1, 2s);
    }
    return list;
  };
  auto overall = list_of("*", {});
  ASSERT_FALSE(overall["items"].empty()) << overall.dump();
  for (const auto& item : overall["items"]) EXPECT_NE(item["id"], "p1");
  EXPECT_EQ(list_of("premium-foot", {})["status"], 403);
  auto premium = list_of("premium-foot", {bearer});
  ASSERT_FALSE(premium["items"].empty()) << premium.dump();
  EXPECT_EQ(premium["items"][0]["id"], "p1");
  // Over a connection: the premium list only to the token holder.
  auto anonymous = reader(*node);
  anonymous->send_text(R"({"op":"subscribe","trending":["premium-foot","*"]})");
  EXPECT_EQ((*anonymous->next_event())["trending"], json({"*"}));
  auto forbidden = anonymous->next_event_of_type("error");  // after the overall list itself
  ASSERT_TRUE(forbidden);
  EXPECT_EQ((*forbidden)["code"], "forbidden");
  EXPECT_EQ((*forbidden)["category"], "premium-foot");
}

TEST_F(TokenTest, TwoNodesOnOneRedisAgree) {
  auto a = start_node();
  auto b = start_node();
  std::string token = hs256_token(claims(600));
  auto holder_a = reader(*a, token);
  auto holder_b = reader(*b, token);
  auto anonymous_a = reader(*a);
  auto anonymous_b = reader(*b);
  for (auto* client : {holder_a.get(), holder_b.get(), anonymous_a.get(), anonymous_b.get()})
    ASSERT_TRUE(client->subscribe({"*"}));
  publish(redis_, make_article("p1", "premium-foot", /*breaking=*/true));
  publish(redis_, make_article("s1", "sports"));
  for (auto* holder : {holder_a.get(), holder_b.get()})
    EXPECT_THAT(ids_of(holder->collect_articles(2)), ElementsAre("p1", "s1"));
  for (auto* anonymous : {anonymous_a.get(), anonymous_b.get()})
    EXPECT_THAT(ids_of(anonymous->collect_articles(1)), ElementsAre("s1"));
}

TEST_F(TokenTest, AnAuthBeforeAResumeKeepsBreakingNewsInItsPlace) {
  auto node = start_node();
  std::string since = publish(redis_, make_article("s0", "sports"));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 1));
  auto client = WsClient::connect(node->port());
  ASSERT_TRUE(client->next_event_of_type("welcome"));
  // Breaking news for the new connection waits for its first command, which may be a resume.
  publish(redis_, make_article("b1", "culture", /*breaking=*/true));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 2));
  client->send_text(json({{"op", "auth"}, {"token", hs256_token(claims(600))}}).dump());
  client->send_text(json({{"op", "subscribe"}, {"categories", {"sports"}}, {"since", since}}).dump());
  // b1 once, in its place in the replay, then live news.
  std::vector<std::string> seen;
  while (auto event = client->next_event(5s)) {
    std::string type = (*event)["type"];
    seen.push_back(type == "article" ? std::string((*event)["article"]["id"]) : type);
    if (type == "resumed") publish(redis_, make_article("s1", "sports"));
    if (seen.back() == "s1") break;
  }
  EXPECT_THAT(seen, ElementsAre("authenticated", "subscribed", "b1", "resumed", "s1"));
}

TEST_F(TokenTest, AStarSubscriberIsToldOfTheLapseAndOneExpIsWarnedOnce) {
  auto node = start_node();  // warns 60 s ahead: at once for this token
  json short_lived = claims(0);
  short_lived["exp"] = now_seconds() + 5;  // 4 to 5 s: room for the re-auth on a slow build
  std::string token = hs256_token(short_lived);
  auto client = reader(*node, token);
  ASSERT_TRUE(client->subscribe({"*"}));
  auto warning = client->next_event_of_type("token_expiring");
  ASSERT_TRUE(warning);
  // The same token again: accepted, not warned about a second time.
  client->send_text(json({{"op", "auth"}, {"token", token}}).dump());
  EXPECT_EQ((*client->next_event())["type"], "authenticated");
  auto next = client->next_event(10s);
  ASSERT_TRUE(next);
  EXPECT_EQ((*next)["code"], "token_expired") << next->dump();
  EXPECT_EQ((*next)["categories"], json::array());
  // Public news goes on.
  publish(redis_, make_article("p1", "premium-foot"));
  publish(redis_, make_article("s1", "sports"));
  EXPECT_THAT(ids_of(client->collect_articles(1)), ElementsAre("s1"));
  EXPECT_FALSE(client->closed());
}

TEST_F(TokenTest, OverSseTheServersErrorsAreNoticeEventsNotEventSourceErrors) {
  auto node = start_node();
  SseClient stream(node->port(), "/sse?categories=sports,premium-foot&token=" +
                                     hs256_token(claims(-1)));
  auto refused = stream.next_of_type("notice");
  ASSERT_TRUE(refused) << stream.raw();
  EXPECT_EQ(refused->json()["code"], "invalid_token");
  EXPECT_EQ(refused->json()["reason"], "expired");
  auto forbidden = stream.next_of_type("notice");
  ASSERT_TRUE(forbidden) << stream.raw();
  EXPECT_EQ(forbidden->json()["code"], "forbidden");
  EXPECT_THAT(stream.raw(), Not(::testing::HasSubstr("event: error")));
}

TEST_F(TokenTest, IssuerAndAudienceAreCheckedWhenConfigured) {
  auto node = start_node({"--token-issuer", "https://www.exemple.fr", "--token-audience", "newspush"});
  json good = claims(600);
  good["iss"] = "https://www.exemple.fr";
  good["aud"] = json::array({"newspush", "comments"});
  json wrong_iss = good;
  wrong_iss["iss"] = "https://evil.example";
  json wrong_aud = good;
  wrong_aud["aud"] = "comments";
  json no_iss = good;
  no_iss.erase("iss");
  auto answer_to = [&](const json& payload) {
    auto client = reader(*node);
    client->send_text(json({{"op", "auth"}, {"token", hs256_token(payload)}}).dump());
    auto answer = client->next_event();
    return answer ? (*answer)["type"] == "authenticated" ? std::string("ok")
                                                        : (*answer).value("reason", "?")
                  : std::string("none");
  };
  EXPECT_EQ(answer_to(good), "ok");
  EXPECT_EQ(answer_to(wrong_iss), "bad_issuer");
  EXPECT_EQ(answer_to(no_iss), "bad_issuer");
  EXPECT_EQ(answer_to(wrong_aud), "bad_audience");
}

}  // namespace
}  // namespace newspush::test

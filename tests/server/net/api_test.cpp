#include "server/net/api.hpp"

#include <gtest/gtest.h>

namespace newspush::api {
namespace {

const PublishKeys kKeys{{"first-key-0123456789", "second-key-0123456789"}};

TEST(ApiAuthorization, NoConfiguredKeyRefusesEverything) {
  auto error = check_authorization("Bearer anything", PublishKeys{});
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 403);
  EXPECT_EQ(error->code, "publishing_disabled");
}

TEST(ApiAuthorization, MissingWrongAndRightKeys) {
  EXPECT_EQ(check_authorization("", kKeys)->status, 401);
  EXPECT_EQ(check_authorization("Basic abc", kKeys)->status, 401);
  EXPECT_EQ(check_authorization("Bearer nope", kKeys)->status, 403);
  EXPECT_EQ(check_authorization("Bearer first-key-012345678", kKeys)->status, 403);
  EXPECT_FALSE(check_authorization("Bearer first-key-0123456789", kKeys));
  EXPECT_FALSE(check_authorization("Bearer second-key-0123456789", kKeys));
  EXPECT_EQ(check_authorization("Bearer first-key-0123456789x", kKeys)->code, "forbidden");
  EXPECT_EQ(check_authorization("Bearer ", kKeys)->status, 403);
  EXPECT_EQ(check_authorization("Bearer", kKeys)->status, 401);
  EXPECT_EQ(check_authorization("Bearerfirst-key-0123456789", kKeys)->status, 401);
  EXPECT_EQ(check_authorization("Basic first-key-0123456789", kKeys)->code, "unauthorized");
}

// RFC 7235: the scheme is case-insensitive; one or more spaces separate it from the credentials.
TEST(ApiAuthorization, SchemeInAnyCaseAndExtraSpaces) {
  EXPECT_FALSE(check_authorization("bearer first-key-0123456789", kKeys));
  EXPECT_FALSE(check_authorization("BEARER second-key-0123456789", kKeys));
  EXPECT_FALSE(check_authorization("BeArEr first-key-0123456789", kKeys));
  EXPECT_FALSE(check_authorization("Bearer   first-key-0123456789", kKeys));
  EXPECT_FALSE(check_authorization("Bearer \t first-key-0123456789", kKeys));
  EXPECT_EQ(check_authorization("bearer nope", kKeys)->status, 403);
  EXPECT_EQ(check_authorization("Bearers first-key-0123456789", kKeys)->status, 401);
}

TEST(ApiAuthorization, KeysAreComparedByDigest) {
  PublishKeys keys({"a-key-of-sixteen", "another-much-longer-key-0123456789"});
  EXPECT_TRUE(keys.contains("a-key-of-sixteen"));
  EXPECT_TRUE(keys.contains("another-much-longer-key-0123456789"));
  EXPECT_FALSE(keys.contains("a-key-of-sixteen "));
  EXPECT_FALSE(keys.contains("a-key-of-sixtee"));
  EXPECT_FALSE(keys.contains(""));
  EXPECT_FALSE(keys.contains(std::string("a-key-of-sixteen\0", 17)));
  EXPECT_FALSE(PublishKeys{}.contains(""));
}

TEST(ApiRecentQuery, DefaultsAndLimits) {
  RecentQuery q;
  EXPECT_FALSE(parse_recent_query("", q));
  EXPECT_EQ(q.category, "*");
  EXPECT_EQ(q.limit, 20u);
  EXPECT_FALSE(parse_recent_query("category=sports&limit=200&other=x", q));
  EXPECT_EQ(q.category, "sports");
  EXPECT_EQ(q.limit, 200u);
  EXPECT_EQ(parse_recent_query("limit=0", q)->code, "bad_limit");
  EXPECT_EQ(parse_recent_query("limit=201", q)->code, "bad_limit");
  EXPECT_EQ(parse_recent_query("limit=ten", q)->code, "bad_limit");
  EXPECT_EQ(parse_recent_query("category=Sports", q)->code, "bad_category");
}

TEST(ApiRedisErrors, MapToStatusCodeAndField) {
  auto bad = error_from_redis("ERR newspush: bad_category: must be a slug");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.code, "bad_category");
  EXPECT_EQ(bad.field, "category");
  EXPECT_EQ(bad.message, "must be a slug");
  EXPECT_EQ(error_from_redis("ERR newspush: not_found: no article x").status, 404);
  EXPECT_EQ(error_from_redis("redis unavailable: connection refused").status, 503);
}

// Found by fuzz/api_request_fuzz: "ERR newspush: " gave a 400 whose "error" code was empty.
TEST(ApiErrorFromRedis, AMalformedCodeIsAnUnexpectedReply) {
  for (std::string_view text : {"ERR newspush: ", "ERR newspush: : detail", "ERR newspush:  bad: x",
                                "ERR newspush: Bad Thing: x"}) {
    auto error = error_from_redis(text);
    EXPECT_EQ(error.status, 503) << text;
    EXPECT_EQ(error.code, "unavailable") << text;
  }
  EXPECT_EQ(error_from_redis("ERR newspush: too_large").code, "too_large");
}

TEST(ApiErrorBody, IsJsonWithFieldWhenKnown) {
  EXPECT_EQ(error_body({400, "bad_title", "empty", "title"}),
            R"({"error":"bad_title","field":"title","message":"empty"})");
  EXPECT_EQ(error_body({401, "unauthorized", "no key", {}}),
            R"({"error":"unauthorized","message":"no key"})");
}

}  // namespace

TEST(ApiTrendingQuery, CategoryDefaultsToOverall) {
  std::string category;
  EXPECT_FALSE(parse_trending_query("", category));
  EXPECT_EQ(category, "*");
  EXPECT_FALSE(parse_trending_query("category=sports", category));
  EXPECT_EQ(category, "sports");
  EXPECT_EQ(parse_trending_query("category=Sports", category)->code, "bad_category");
}

TEST(ApiViewBatch, ArrayOfArticleIdsRepeatsAllowed) {
  std::vector<std::string> ids;
  EXPECT_FALSE(parse_view_batch(R"([{"article":"a"},{"article":"b"},{"article":"a","x":1}])", ids));
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "a"}));
}

TEST(ApiViewBatch, MalformedBatchesAreBadRequests) {
  std::vector<std::string> ids;
  std::vector<std::string> bodies{"", "{", "{}", "[]", R"({"article":"a"})", R"([{"article":""}])",
                                  R"([{"article":1}])", R"([{"id":"a"}])", R"(["a"])",
                                  R"([{"article":")" + std::string(129, 'x') + R"("}])"};
  for (const auto& body : bodies) {
    auto error = parse_view_batch(body, ids);
    ASSERT_TRUE(error) << body;
    EXPECT_EQ(error->status, 400) << body;
    EXPECT_EQ(error->code, "bad_request") << body;
  }
  // Found by fuzz/trending_payload_fuzz (the same parser): a NUL byte ended the JSON early.
  EXPECT_TRUE(parse_view_batch(std::string(R"([{"article":"a"}])") + '\0' + "\xff", ids));
  std::string big = "[";
  for (std::size_t i = 0; i <= kMaxViewBatch; ++i) big += std::string(i ? "," : "") + R"({"article":"a"})";
  EXPECT_EQ(parse_view_batch(big + "]", ids)->code, "bad_request");
}

TEST(ApiBodyRule, OnlyTheWriteRoutesTakeABodyAndEachNeedsAKey) {
  EXPECT_EQ(body_rule("POST", "/api/v1/articles", 1000).max_body, 2024u);
  EXPECT_TRUE(body_rule("POST", "/api/v1/articles", 1000).needs_key);
  EXPECT_EQ(body_rule("POST", "/api/v1/views", 1000).max_body, kMaxViewBatchBytes);
  EXPECT_TRUE(body_rule("POST", "/api/v1/views", 1000).needs_key);
  EXPECT_EQ(body_rule("DELETE", "/api/v1/articles/a1", 1000).max_body, 0u);
  EXPECT_TRUE(body_rule("DELETE", "/api/v1/articles/a1", 1000).needs_key);
  const std::pair<const char*, const char*> others[] = {
      {"GET", "/api/v1/articles"}, {"GET", "/healthz"},          {"POST", "/metrics"},
      {"GET", "/ws"},              {"DELETE", "/api/v1/articles"}, {"DELETE", "/api/v1/articlesX"},
      {"POST", "/api/v1/articles/a1"}};
  for (auto [method, path] : others) {
    EXPECT_EQ(body_rule(method, path, 1000).max_body, 0u) << method << " " << path;
    EXPECT_FALSE(body_rule(method, path, 1000).needs_key) << method << " " << path;
  }
}

}  // namespace newspush::api

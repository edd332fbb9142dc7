#include "common/redis_url.hpp"

#include <gtest/gtest.h>

namespace newspush {
namespace {

RedisEndpoint expect_valid(std::string_view url) {
  std::string error;
  auto endpoint = parse_redis_url(url, &error);
  EXPECT_TRUE(endpoint.has_value()) << url << ": " << error;
  return endpoint.value_or(RedisEndpoint{});
}

RedisEndpoint at(std::string host, std::uint16_t port, int db) {
  RedisEndpoint endpoint;
  endpoint.host = std::move(host);
  endpoint.port = port;
  endpoint.db = db;
  return endpoint;
}

void expect_invalid(std::string_view url) {
  std::string error;
  EXPECT_FALSE(parse_redis_url(url, &error).has_value()) << url;
  EXPECT_FALSE(error.empty()) << url;
}

TEST(RedisUrlTest, HostPortAndDb) {
  auto endpoint = expect_valid("redis://redis.interne:6380/3");
  EXPECT_EQ(endpoint.host, "redis.interne");
  EXPECT_EQ(endpoint.port, 6380);
  EXPECT_EQ(endpoint.db, 3);
}

TEST(RedisUrlTest, Defaults) {
  auto endpoint = expect_valid("redis://localhost");
  EXPECT_EQ(endpoint.host, "localhost");
  EXPECT_EQ(endpoint.port, 6379);
  EXPECT_EQ(endpoint.db, 0);
  EXPECT_EQ(expect_valid("redis://10.0.0.5/2").port, 6379);
  EXPECT_EQ(expect_valid("redis://10.0.0.5/2").db, 2);
  EXPECT_EQ(expect_valid("redis://10.0.0.5:7000").db, 0);
  RedisEndpoint defaults;
  EXPECT_EQ(defaults.host, "127.0.0.1");
  EXPECT_EQ(defaults.port, 6379);
  EXPECT_EQ(defaults.db, 0);
}

TEST(RedisUrlTest, Ipv6) {
  auto endpoint = expect_valid("redis://[::1]:6380/2");
  EXPECT_EQ(endpoint.host, "::1");
  EXPECT_EQ(endpoint.port, 6380);
  EXPECT_EQ(endpoint.db, 2);
  auto bare = expect_valid("redis://[fe80::1]");
  EXPECT_EQ(bare.host, "fe80::1");
  EXPECT_EQ(bare.port, 6379);
}

// Found by fuzz/redis_url_fuzz: an unbracketed host with ':' or ']' was accepted, and what
// to_url() shows for it did not parse back.
TEST(RedisUrlTest, Ipv6NeedsBrackets) {
  expect_invalid("redis://::1");
  expect_invalid("redis://::1:6379");
  expect_invalid("redis://a:b:6379");
  expect_invalid("redis://\xa9\xc5:1]:6379/0");
  expect_invalid("redis://h]:6379");
  expect_invalid("redis://h[");
  expect_invalid("redis://[[::1]:6379");
}

TEST(RedisUrlTest, ShownUrlParsesBackToTheSameServer) {
  for (std::string_view url : {"redis://h", "redis://[::1]:6380/2", "redis://[fe80::1%25eth0]",
                               "redis://u:p@10.0.0.5:7000/1", "redis://[abc]"}) {
    RedisEndpoint endpoint = expect_valid(url);
    RedisEndpoint shown = expect_valid(to_url(endpoint));
    EXPECT_EQ(shown.host, endpoint.host) << url;
    EXPECT_EQ(shown.port, endpoint.port) << url;
    EXPECT_EQ(shown.db, endpoint.db) << url;
    EXPECT_EQ(shown.username, endpoint.username) << url;
  }
}

TEST(RedisUrlTest, PortAndDbBoundaries) {
  EXPECT_EQ(expect_valid("redis://h:1").port, 1);
  EXPECT_EQ(expect_valid("redis://h:65535").port, 65535);
  EXPECT_EQ(expect_valid("redis://h/0").db, 0);
  EXPECT_EQ(expect_valid("redis://h/15").db, 15);
}

TEST(RedisUrlTest, BadScheme) {
  expect_invalid("");
  expect_invalid("localhost:6379");
  expect_invalid("http://localhost:6379");
  expect_invalid("rediss://localhost:6379");
  expect_invalid("REDIS://localhost");
}

TEST(RedisUrlTest, BadPort) {
  expect_invalid("redis://h:");
  expect_invalid("redis://h:0");
  expect_invalid("redis://h:65536");
  expect_invalid("redis://h:-1");
  expect_invalid("redis://h:63 79");
  expect_invalid("redis://h:port");
  expect_invalid("redis://[::1]:");
  expect_invalid("redis://[::1]6379");
  expect_invalid("redis://[::1");
}

TEST(RedisUrlTest, BadDb) {
  expect_invalid("redis://h/");
  expect_invalid("redis://h/16");
  expect_invalid("redis://h/-1");
  expect_invalid("redis://h/a");
  expect_invalid("redis://h:6379/1/2");
}

TEST(RedisUrlTest, EmptyHost) {
  expect_invalid("redis://");
  expect_invalid("redis://:6379");
  expect_invalid("redis:///1");
  expect_invalid("redis://[]:6379");
}

TEST(RedisUrlTest, ErrorPointerMayBeNull) {
  EXPECT_FALSE(parse_redis_url("http://h", nullptr).has_value());
  EXPECT_TRUE(parse_redis_url("redis://h", nullptr).has_value());
}

TEST(RedisUrlTest, UserAndPassword) {
  auto endpoint = expect_valid("redis://newsroom:s3cret@redis.interne:6380/3");
  EXPECT_EQ(endpoint.username, "newsroom");
  EXPECT_EQ(endpoint.password, "s3cret");
  EXPECT_EQ(endpoint.host, "redis.interne");
  EXPECT_EQ(endpoint.port, 6380);
  EXPECT_EQ(endpoint.db, 3);
  auto ipv6 = expect_valid("redis://u:p@[::1]:7000/1");
  EXPECT_EQ(ipv6.username, "u");
  EXPECT_EQ(ipv6.password, "p");
  EXPECT_EQ(ipv6.host, "::1");
  EXPECT_EQ(ipv6.port, 7000);
  auto none = expect_valid("redis://h:1/2");
  EXPECT_TRUE(none.username.empty());
  EXPECT_TRUE(none.password.empty());
}

TEST(RedisUrlTest, PasswordOnlyIsTheDefaultUser) {
  auto endpoint = expect_valid("redis://:s3cret@localhost");
  EXPECT_EQ(endpoint.username, "");
  EXPECT_EQ(endpoint.password, "s3cret");
  EXPECT_EQ(endpoint.host, "localhost");
  EXPECT_EQ(endpoint.port, 6379);
}

TEST(RedisUrlTest, UserInfoIsPercentDecoded) {
  auto endpoint = expect_valid("redis://ops%40news:p%40ss%3Aw%2Fo%25rd%2a@h:1");
  EXPECT_EQ(endpoint.username, "ops@news");
  EXPECT_EQ(endpoint.password, "p@ss:w/o%rd*");
  // The password may hold ':' and (unescaped) '@' or '/': the user info ends at the last '@'.
  auto raw = expect_valid("redis://u:a:b@c/d@h:2/4");
  EXPECT_EQ(raw.username, "u");
  EXPECT_EQ(raw.password, "a:b@c/d");
  EXPECT_EQ(raw.host, "h");
  EXPECT_EQ(raw.port, 2);
  EXPECT_EQ(raw.db, 4);
}

TEST(RedisUrlTest, BadUserInfo) {
  expect_invalid("redis://user@h");        // no password: ambiguous, refused
  expect_invalid("redis://@h");
  expect_invalid("redis://user:@h");       // empty password
  expect_invalid("redis://:@h");
  expect_invalid("redis://u:p@");           // no host
  expect_invalid("redis://u:p@:6379");
  expect_invalid("redis://u:p@h:0");
}

TEST(RedisUrlTest, BadEscapesAreRefusedClearly) {
  for (std::string_view url : {"redis://u:pa%@h", "redis://u:pa%4@h", "redis://u:pa%zz@h",
                               "redis://u:%g1@h", "redis://u%2:p@h", "redis://u%:p@h"}) {
    std::string error;
    EXPECT_FALSE(parse_redis_url(url, &error).has_value()) << url;
    EXPECT_NE(error.find("%-escape"), std::string::npos) << url << ": " << error;
  }
  std::string error;
  parse_redis_url("redis://u:pa%zz@h", &error);
  EXPECT_NE(error.find("password"), std::string::npos) << error;
  parse_redis_url("redis://u%zz:p@h", &error);
  EXPECT_NE(error.find("user name"), std::string::npos) << error;
}

TEST(RedisUrlTest, ToUrlNeverShowsThePassword) {
  auto endpoint = expect_valid("redis://newsroom:Hunter2Secret@redis.interne:6380/3");
  EXPECT_EQ(to_url(endpoint), "redis://newsroom:***@redis.interne:6380/3");
  EXPECT_EQ(to_url(expect_valid("redis://:Hunter2Secret@[::1]")), "redis://:***@[::1]:6379");
  // The user name is escaped back; the masked URL still parses (to the same user and host).
  auto escaped = expect_valid("redis://ops%40news:Hunter2Secret@h:1");
  EXPECT_EQ(to_url(escaped), "redis://ops%40news:***@h:1");
  auto reparsed = expect_valid(to_url(escaped));
  EXPECT_EQ(reparsed.username, "ops@news");
  EXPECT_EQ(reparsed.host, "h");
  for (std::string_view url :
       {"redis://u:Hunter2Secret@h", "redis://:Hunter2Secret@h:7/1", "redis://u:Hunter2%53ecret@h"}) {
    std::string rendered = to_url(expect_valid(url));
    EXPECT_EQ(rendered.find("Hunter2"), std::string::npos) << rendered;
  }
}

TEST(RedisUrlTest, ErrorsNeverQuoteThePassword) {
  for (std::string_view url :
       {"redis://u:Hunter2Secret@h:port", "redis://u:Hunter2Secret@h/99", "redis://u:Hunter2Secret@",
        "redis://u:Hunter2Secret%@h", "redis://u:Hunter2Secret%zz@h", "redis://Hunter2Secret@h",
        "redis://u:Hunter2Secret@[::1", "redis://u:Hunter2Secret", "redis://u:Hunter2Secret/3",
        "http://u:Hunter2Secret@h"}) {
    std::string error;
    EXPECT_FALSE(parse_redis_url(url, &error).has_value()) << url;
    EXPECT_FALSE(error.empty()) << url;
    EXPECT_EQ(error.find("Hunter2"), std::string::npos) << url << ": " << error;
  }
}

TEST(RedisUrlTest, ToUrlRoundTrips) {
  EXPECT_EQ(to_url(RedisEndpoint{}), "redis://127.0.0.1:6379");
  EXPECT_EQ(to_url(at("redis.interne", 6380, 3)), "redis://redis.interne:6380/3");
  EXPECT_EQ(to_url(at("::1", 6380, 2)), "redis://[::1]:6380/2");
  for (std::string_view url : {"redis://h:1", "redis://[::1]:6380/2", "redis://10.0.0.5:7000/15"}) {
    EXPECT_EQ(to_url(expect_valid(url)), url);
  }
}

}  // namespace
}  // namespace newspush

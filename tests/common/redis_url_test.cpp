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

TEST(RedisUrlTest, ToUrlRoundTrips) {
  EXPECT_EQ(to_url(RedisEndpoint{}), "redis://127.0.0.1:6379");
  EXPECT_EQ(to_url({"redis.interne", 6380, 3}), "redis://redis.interne:6380/3");
  EXPECT_EQ(to_url({"::1", 6380, 2}), "redis://[::1]:6380/2");
  for (std::string_view url : {"redis://h:1", "redis://[::1]:6380/2", "redis://10.0.0.5:7000/15"}) {
    EXPECT_EQ(to_url(expect_valid(url)), url);
  }
}

}  // namespace
}  // namespace newspush

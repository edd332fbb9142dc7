#pragma once
// redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] as given to --redis, shared by newspushd and the
// newspush CLI.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace newspush {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;
  // AUTH on every connection when password is set: AUTH USER PASSWORD (an ACL user) or, with
  // username empty, AUTH PASSWORD (the default user, requirepass). Both percent-decoded.
  std::string username{};
  std::string password{};
  // Sentinel mode when not empty: host and port above are not used; before every connect the
  // sentinels are asked in turn for the current primary of sentinel_master. They get no AUTH.
  struct HostPort {
    std::string host;
    std::uint16_t port = 26379;
  };
  std::vector<HostPort> sentinels{};
  std::string sentinel_master{};
};

// Accepts redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], HOST may be [IPv6]; USER and PASSWORD may
// use %XX escapes. On failure returns nullopt and sets *error, which never quotes the URL (it may
// hold a password).
std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string* error);
// For logs and messages: the password is always rendered as ***.
std::string to_url(const RedisEndpoint& endpoint);
// For logs: to_url, or in sentinel mode "master NAME via sentinels H:P,H:P" (with user and db).
std::string describe(const RedisEndpoint& endpoint);
// "HOST:PORT" ([IPv6]:PORT), the port required; nullopt with *error set otherwise.
std::optional<RedisEndpoint::HostPort> parse_host_port(std::string_view text, std::string* error);

}  // namespace newspush

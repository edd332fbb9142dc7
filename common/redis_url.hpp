#pragma once
// redis://HOST:PORT[/DB] as given to --redis, shared by newspushd and the newspush CLI.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace newspush {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;
};

// Accepts redis://HOST[:PORT][/DB], HOST may be [IPv6]. On failure returns nullopt and sets *error.
std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string* error);
std::string to_url(const RedisEndpoint& endpoint);

}  // namespace newspush

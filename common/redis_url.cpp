#include "common/redis_url.hpp"

#include <charconv>

namespace newspush {
namespace {

template <typename Int>
bool parse_number(std::string_view text, Int min, Int max, Int& out) {
  if (text.empty()) return false;
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return false;
  if (value < min || value > max) return false;
  out = value;
  return true;
}

}  // namespace

std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<RedisEndpoint> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return fail("must start with redis://");
  std::string_view rest = url.substr(scheme.size());

  RedisEndpoint endpoint;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (!parse_number(rest.substr(slash + 1), 0, 15, endpoint.db))
      return fail("database must be a number from 0 to 15");
    rest = rest.substr(0, slash);
  }
  std::string_view port_text;
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("unterminated [IPv6] host");
    endpoint.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("expected :PORT after [IPv6] host");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("empty port");
    }
  } else {
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return fail("empty port");
      rest = rest.substr(0, colon);
    }
    endpoint.host = std::string(rest);
  }
  if (endpoint.host.empty()) return fail("empty host");
  if (!port_text.empty() && !parse_number<std::uint16_t>(port_text, 1, 65535, endpoint.port))
    return fail("port must be a number from 1 to 65535");
  return endpoint;
}

std::string to_url(const RedisEndpoint& endpoint) {
  bool ipv6 = endpoint.host.find(':') != std::string::npos;
  std::string url = "redis://";
  url += ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
  url += ":" + std::to_string(endpoint.port);
  if (endpoint.db != 0) url += "/" + std::to_string(endpoint.db);
  return url;
}

}  // namespace newspush

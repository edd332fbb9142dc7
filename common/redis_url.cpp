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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX -> byte. False on a '%' not followed by two hex digits.
bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return false;
    int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return false;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

// The user name as it would be typed in a URL: what is not unreserved (RFC 3986) is escaped.
std::string percent_encode(std::string_view text) {
  constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

// The error messages below never quote the input: it may be (part of) a password.
const char* parse_userinfo(std::string_view userinfo, RedisEndpoint& endpoint) {
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos)
    return "the user info needs a password: redis://USER:PASSWORD@HOST or "
           "redis://:PASSWORD@HOST";
  if (!percent_decode(userinfo.substr(0, colon), endpoint.username))
    return "bad %-escape in the user name (expected % and two hex digits)";
  if (!percent_decode(userinfo.substr(colon + 1), endpoint.password))
    return "bad %-escape in the password (expected % and two hex digits)";
  if (endpoint.password.empty()) return "empty password";
  return nullptr;
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
  // The last '@': a password typed with a raw '@' or '/' still ends there, and never leaks
  // into the host or the database part (or their error messages).
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    if (const char* problem = parse_userinfo(rest.substr(0, at), endpoint)) return fail(problem);
    rest = rest.substr(at + 1);
  }
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
    if (endpoint.host.find('[') != std::string::npos) return fail("'[' inside an [IPv6] host");
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
    // Otherwise "redis://::1" would be host ":" port 1, and to_url() could not write the host
    // back in a form that reads the same.
    if (rest.find_first_of(":[]") != std::string_view::npos)
      return fail("an IPv6 host goes in brackets: redis://[::1]:6379");
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
  if (!endpoint.password.empty()) url += percent_encode(endpoint.username) + ":***@";
  url += ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
  url += ":" + std::to_string(endpoint.port);
  if (endpoint.db != 0) url += "/" + std::to_string(endpoint.db);
  return url;
}

std::string describe(const RedisEndpoint& endpoint) {
  if (endpoint.sentinels.empty()) return to_url(endpoint);
  std::string text = "master " + endpoint.sentinel_master + " via sentinels ";
  for (std::size_t i = 0; i < endpoint.sentinels.size(); ++i) {
    const auto& sentinel = endpoint.sentinels[i];
    if (i > 0) text += ",";
    bool ipv6 = sentinel.host.find(':') != std::string::npos;
    text +=
        (ipv6 ? "[" + sentinel.host + "]" : sentinel.host) + ":" + std::to_string(sentinel.port);
  }
  if (!endpoint.password.empty())
    text += " (user " + (endpoint.username.empty() ? std::string("default") : endpoint.username) +
            ", password ***)";
  if (endpoint.db != 0) text += " db " + std::to_string(endpoint.db);
  return text;
}

std::optional<RedisEndpoint::HostPort> parse_host_port(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<RedisEndpoint::HostPort> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return fail("expected HOST:PORT");
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return fail("expected [IPv6]:PORT");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return fail("an IPv6 host goes in brackets: [::1]:26379");
  }
  RedisEndpoint::HostPort result;
  result.host = std::string(host);
  if (!parse_number<std::uint16_t>(text.substr(colon + 1), 1, 65535, result.port))
    return fail("port must be a number from 1 to 65535");
  return result;
}

}  // namespace newspush

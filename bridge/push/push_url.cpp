#include "bridge/push/push_url.hpp"

#include <cctype>
#include <charconv>
#include <string>

namespace newspush::bridge {
namespace {

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

}  // namespace

std::optional<PushUrl> parse_push_url(std::string_view url) {
  if (url.empty() || url.size() > kMaxEndpointBytes) return std::nullopt;
  for (char c : url) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return std::nullopt;  // URLs arrive percent-encoded
  }
  PushUrl result;
  std::string_view rest;
  if (starts_with_ignoring_case(url, "https://")) {
    rest = url.substr(8);
  } else if (starts_with_ignoring_case(url, "http://")) {
    result.https = false;
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
    for (char c : host.substr(1, host.size() - 2))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'))
        return std::nullopt;
  } else if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  result.host.reserve(host.size());
  for (char c : host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (host.front() != '[' && !is_host_char(c)) return std::nullopt;
    result.host.push_back(c);
  }
  std::string port_suffix;
  if (authority.size() > host.size()) {  // a ':' was there
    unsigned number = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || error != std::errc() || end != port.data() + port.size() || number == 0 ||
        number > 65535)
      return std::nullopt;
    unsigned default_port = result.https ? 443 : 80;
    if (number != default_port) port_suffix = ":" + std::to_string(number);
  }
  result.origin = (result.https ? "https://" : "http://") + result.host + port_suffix;
  return result;
}

}  // namespace newspush::bridge

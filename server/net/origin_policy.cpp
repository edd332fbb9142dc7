#include "server/net/origin_policy.hpp"

#include <algorithm>

namespace newspush {
namespace {

// Origins compare case-insensitively in scheme and host (RFC 6454 serializes them lower case).
std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':' ||
         c == '[' || c == ']';
}

// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), already lower case here.
bool is_scheme(std::string_view scheme) {
  return !scheme.empty() && scheme.front() >= 'a' && scheme.front() <= 'z' &&
         std::all_of(scheme.begin(), scheme.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
                  c == '.';
         });
}

}  // namespace

std::string OriginPolicy::add(std::string_view pattern) {
  std::string text = lower(pattern);
  auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos || !is_scheme(std::string_view(text).substr(0, scheme_end)))
    return "expected SCHEME://HOST[:PORT], e.g. https://www.example.org or https://*.example.org";
  std::string scheme_prefix = text.substr(0, scheme_end + 3);
  std::string host = text.substr(scheme_end + 3);
  if (!host.empty() && host.back() == '/') host.pop_back();
  bool wildcard = host.starts_with("*.");
  std::string_view rest = wildcard ? std::string_view(host).substr(2) : std::string_view(host);
  if (rest.empty() || !std::all_of(rest.begin(), rest.end(), host_char))
    return "expected SCHEME://HOST[:PORT] with no path, e.g. https://www.example.org";
  if (wildcard) wildcard_.push_back({scheme_prefix, host.substr(1)});
  else exact_.push_back(scheme_prefix + host);
  return {};
}

bool OriginPolicy::allows(std::string_view origin) const {
  if (!restricted() || origin.empty()) return true;
  std::string text = lower(origin);
  if (std::find(exact_.begin(), exact_.end(), text) != exact_.end()) return true;
  for (const auto& w : wildcard_) {
    if (!text.starts_with(w.scheme_prefix) || !text.ends_with(w.suffix)) continue;
    std::string_view label = std::string_view(text).substr(
        w.scheme_prefix.size(), text.size() - w.scheme_prefix.size() - w.suffix.size());
    // At least one label before the suffix, and nothing that could end the host early.
    if (!label.empty() && label.front() != '.' && label.back() != '.' && std::all_of(label.begin(), label.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        }))
      return true;
  }
  return false;
}

}  // namespace newspush

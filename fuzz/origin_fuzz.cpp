// --allowed-origin patterns and the Origin header of WebSocket upgrades (OriginPolicy).
// Input: one pattern per line; the last line is the Origin header.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "server/net/origin_policy.hpp"

using namespace newspush;

namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == ':' || c == '[' || c == ']';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  const auto last = text.rfind('\n');
  if (last == std::string_view::npos) return 0;
  const std::string_view origin = text.substr(last + 1);
  text = text.substr(0, last);

  OriginPolicy policy;
  std::vector<std::string_view> exact;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view pattern = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (!policy.add(pattern).empty()) continue;
    if (pattern.find("://*.") == std::string_view::npos && !pattern.ends_with('/'))
      exact.push_back(pattern);
  }

  const bool allowed = policy.allows(origin);
  FUZZ_CHECK(policy.allows(""));
  // Scheme and host compare case-insensitively.
  FUZZ_CHECK(policy.allows(upper(origin)) == allowed);
  for (std::string_view pattern : exact) FUZZ_CHECK(policy.allows(pattern));
  // Whatever is let in is SCHEME://HOST[:PORT]: no path, query, user info or anything else that
  // could make a browser's origin look like another.
  if (allowed && policy.restricted() && !origin.empty()) {
    const auto scheme_end = origin.find("://");
    FUZZ_CHECK(scheme_end != std::string_view::npos && scheme_end > 0);
    const std::string_view scheme = origin.substr(0, scheme_end);
    FUZZ_CHECK(std::all_of(scheme.begin(), scheme.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    }));
    const std::string_view host = origin.substr(scheme_end + 3);
    FUZZ_CHECK(!host.empty() && std::all_of(host.begin(), host.end(), host_char));
  }
  return 0;
}

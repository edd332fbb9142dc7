#pragma once
// The few facts about a push endpoint's URL the bridge needs: is it one we may POST to, and its
// origin (VAPID's "aud").
#include <optional>
#include <string>
#include <string_view>

namespace newspush::bridge {

inline constexpr std::size_t kMaxEndpointBytes = 2048;

struct PushUrl {
  bool https = true;
  std::string host;    // lower case; an IPv6 literal keeps its brackets
  std::string origin;  // "https://host" or "https://host:port" (a default port is left out)
};

// An absolute http(s) URL with a host and no user info, no whitespace or control characters,
// at most kMaxEndpointBytes. nullopt otherwise; never throws.
std::optional<PushUrl> parse_push_url(std::string_view url);

}  // namespace newspush::bridge

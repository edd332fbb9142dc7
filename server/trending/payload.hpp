#pragma once
// What the leader publishes on the trending channel: "<seq>\n<category>\n<frame>", where frame
// is the complete "trending" message. seq grows with every list published (per Redis), so a node
// loading the current lists can tell whether it already has something newer.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace newspush::trending {

struct TrendingPayload {
  std::uint64_t seq = 0;
  std::string category;  // a slug or "*"
  std::string frame;     // one JSON object of type "trending" for that category, on one line
};

// None when anything is off: a node forwards the frame to clients as is, so only a well-formed
// list for the category it claims gets through.
std::optional<TrendingPayload> parse_payload(std::string_view payload);

}  // namespace newspush::trending

#pragma once
// The "trending" server message: a ranking of the articles most read right now.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace newspush::protocol {

struct TrendingItem {
  std::string id;
  std::string title;
  std::string url;  // empty: the article has none, and the field is omitted
  std::string category;
  double score = 0;  // decayed views now; serialized rounded to 2 decimals
};

struct TrendingList {
  std::string category;  // a slug, or "*" for the overall list
  std::vector<TrendingItem> items;  // best first
  std::optional<std::int64_t> at_ms;  // when it was computed (Unix ms); none: no list known yet
};

// {"type":"trending","category":...,"items":[{"id","title","url","category","score"}...],"at":...}
std::string trending_message(const TrendingList& list);

}  // namespace newspush::protocol

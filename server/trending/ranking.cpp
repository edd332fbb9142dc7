#include "server/trending/ranking.hpp"

#include <algorithm>

namespace newspush::trending {

std::vector<protocol::TrendingItem> rank(std::vector<StoredEntry> entries, const DecayBase& base,
                                         std::int64_t now_ms) {
  std::sort(entries.begin(), entries.end(), [](const StoredEntry& a, const StoredEntry& b) {
    if (a.stored != b.stored) return a.stored > b.stored;
    return a.item.id > b.item.id;
  });
  std::vector<protocol::TrendingItem> items;
  items.reserve(entries.size());
  for (auto& entry : entries) {
    entry.item.score = current_score(base, entry.stored, now_ms);
    items.push_back(std::move(entry.item));
  }
  return items;
}

std::string signature(const std::vector<protocol::TrendingItem>& items) {
  // Unit and record separators cannot appear in ids, titles or urls that matter to a reader.
  std::string out;
  for (const auto& item : items) {
    out.append(item.id).push_back('\x1f');
    out.append(item.title).push_back('\x1f');
    out.append(item.url).push_back('\x1e');
  }
  return out;
}

}  // namespace newspush::trending

#pragma once
// Turning stored scores into the list readers see, and telling whether it changed.
#include <string>
#include <vector>

#include "protocol/trending.hpp"
#include "server/trending/decay.hpp"

namespace newspush::trending {

// One article as the functions library reports it: its stored (undecayed) score.
struct StoredEntry {
  protocol::TrendingItem item;  // score unset
  double stored = 0;
};

// Best first: higher stored score, ties by id descending bytewise (the order Redis' ZREVRANGE
// gives, so the ranking does not depend on who computed it). Scores are decayed to `now_ms`.
std::vector<protocol::TrendingItem> rank(std::vector<StoredEntry> entries, const DecayBase& base,
                                         std::int64_t now_ms);

// What makes a list different for a reader: its ids, their order, titles and urls (not scores,
// which move all the time).
std::string signature(const std::vector<protocol::TrendingItem>& items);

}  // namespace newspush::trending

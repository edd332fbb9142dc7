#pragma once
// The answer of FCALL newspush_trending_tick: either "someone else leads", or the lease is ours
// and here is what the rankings hold.
#include <optional>
#include <string>
#include <vector>

#include "common/redis/reply.hpp"
#include "server/trending/decay.hpp"
#include "server/trending/ranking.hpp"

namespace newspush::trending {

struct StoredRanking {
  std::string category;          // a slug or "*"
  std::string stored_signature;  // of the list last published ("" if none)
  std::vector<StoredEntry> entries;
};

struct TickReply {
  bool leader = false;
  std::string holder;  // when not the leader: who is
  bool has_base = false;  // false on a Redis where no view and no leader created one yet
  DecayBase base;
  std::vector<StoredRanking> rankings;
};

// None (and `error` set) when the reply is not one of the two shapes.
std::optional<TickReply> parse_tick_reply(const redis::Reply& reply, std::string& error);

}  // namespace newspush::trending

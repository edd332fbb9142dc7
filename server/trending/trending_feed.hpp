#pragma once
// Trending lists arriving at this node: from the trending channel as the leader publishes them,
// and from Redis' copy of the current lists when the node (re)connects, so that a new node has
// every list at once rather than at the next change. Hands each to the hub. Control thread.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/history/history.hpp"
#include "server/hub/event.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"

namespace newspush::trending {

class TrendingFeed {
 public:
  using Deliver = std::function<void(TrendingPtr)>;

  TrendingFeed(History& history, Metrics& metrics, Deliver deliver);

  // A message of the trending channel. Always newer than what came before on the channel.
  void on_message(std::string_view payload);
  // Reads the current lists (after a (re)connect: messages may have been missed meanwhile).
  void load_current();

 private:
  // from_channel: channel messages arrive in publish order, so they always apply; a loaded list
  // applies only if the channel has not brought a newer one since.
  void apply(std::string_view payload, bool from_channel);

  History& history_;
  Metrics& metrics_;
  Deliver deliver_;
  std::unordered_map<std::string, std::uint64_t> newest_seq_;
  bool loading_ = false;
  // Anything can PUBLISH on the channel: garbage must not flood the log.
  RateLimitedLog malformed_log_{10, std::chrono::seconds(10)};
};

}  // namespace newspush::trending

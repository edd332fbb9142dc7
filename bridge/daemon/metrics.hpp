#pragma once
// The bridge's counters, rendered as Prometheus text for /metrics. Single-threaded (the bridge's
// one io_context), so plain integers.
#include <cstdint>
#include <map>
#include <string>

namespace newspush::bridge {

struct BridgeMetrics {
  std::map<std::string, std::uint64_t> sent;  // platform -> accepted sends
  std::map<std::pair<std::string, std::string>, std::uint64_t> failed;  // (platform, reason)
  std::map<std::string, std::uint64_t> retries;                         // platform
  std::uint64_t dead_tokens_removed = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t entries_acked = 0;
  std::uint64_t entries_skipped = 0;         // updates, retractions, unparsable entries
  std::uint64_t sends_cancelled = 0;         // by a retraction
  std::uint64_t rate_limit_waits = 0;        // a provider's queue waited for its next token
  std::uint64_t sends_skipped_accepted = 0;  // already accepted before (a reclaimed entry)
  std::uint64_t log_gaps = 0;                // entries trimmed before the group read them
  std::uint64_t claimed = 0;                 // entries taken over from another consumer
  std::int64_t lag = -1;                     // XINFO GROUPS lag; -1 unknown
  std::uint64_t queued = 0;                  // sends waiting for a provider
  std::uint64_t in_flight = 0;
  // Provider latency: a histogram per platform.
  struct Histogram {
    std::uint64_t buckets[8] = {};  // <= 5, 10, 25, 50, 100, 250, 1000, 5000 ms
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };
  std::map<std::string, Histogram> latency;

  void observe_latency(const std::string& platform, double seconds);
  std::string render(bool redis_ready, bool group_ready) const;
};

}  // namespace newspush::bridge

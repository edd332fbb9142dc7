#include "bridge/daemon/metrics.hpp"

#include <cstdio>

namespace newspush::bridge {
namespace {
constexpr double kBucketSeconds[8] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}
}  // namespace

void BridgeMetrics::observe_latency(const std::string& platform, double seconds) {
  auto& h = latency[platform];
  for (int i = 0; i < 8; ++i)
    if (seconds <= kBucketSeconds[i]) ++h.buckets[i];
  ++h.count;
  h.sum_seconds += seconds;
}

std::string BridgeMetrics::render(bool redis_ready, bool group_ready) const {
  std::string out;
  auto counter = [&out](const char* name, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  };
  auto gauge = [&out](const char* name, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
  };
  counter("newspush_bridge_sent_total", "notifications a provider accepted");
  for (const auto& [platform, n] : sent)
    out += "newspush_bridge_sent_total{platform=\"" + platform + "\"} " + std::to_string(n) + "\n";
  counter("newspush_bridge_failed_total", "sends that failed, by reason");
  for (const auto& [key, n] : failed)
    out += "newspush_bridge_failed_total{platform=\"" + key.first + "\",reason=\"" + key.second +
           "\"} " + std::to_string(n) + "\n";
  counter("newspush_bridge_retries_total", "sends scheduled again after a retryable answer");
  for (const auto& [platform, n] : retries)
    out +=
        "newspush_bridge_retries_total{platform=\"" + platform + "\"} " + std::to_string(n) + "\n";
  auto plain = [&out](const char* name, std::uint64_t value) {
    out += std::string(name) + " " + std::to_string(value) + "\n";
  };
  counter("newspush_bridge_dead_tokens_removed_total", "devices removed on the provider's word");
  plain("newspush_bridge_dead_tokens_removed_total", dead_tokens_removed);
  counter("newspush_bridge_dead_letters_total", "sends written to the dead-letter stream");
  plain("newspush_bridge_dead_letters_total", dead_letters);
  counter("newspush_bridge_entries_acked_total", "log entries acknowledged");
  plain("newspush_bridge_entries_acked_total", entries_acked);
  counter("newspush_bridge_entries_skipped_total",
          "log entries that notify nobody (corrections, retractions, unreadable)");
  plain("newspush_bridge_entries_skipped_total", entries_skipped);
  counter("newspush_bridge_sends_cancelled_total", "queued sends a retraction cancelled");
  plain("newspush_bridge_sends_cancelled_total", sends_cancelled);
  counter("newspush_bridge_rate_limit_waits_total",
          "times a provider's queue waited for its --*-rate limit's next token");
  plain("newspush_bridge_rate_limit_waits_total", rate_limit_waits);
  counter("newspush_bridge_sends_skipped_accepted_total",
          "sends skipped because the device already accepted the article");
  plain("newspush_bridge_sends_skipped_accepted_total", sends_skipped_accepted);
  counter("newspush_bridge_log_gaps_total", "log entries trimmed before the group read them");
  plain("newspush_bridge_log_gaps_total", log_gaps);
  counter("newspush_bridge_entries_claimed_total", "entries claimed from a silent consumer");
  plain("newspush_bridge_entries_claimed_total", claimed);
  gauge("newspush_bridge_lag", "log entries not yet delivered to the group (-1: unknown)");
  out += "newspush_bridge_lag " + std::to_string(lag) + "\n";
  gauge("newspush_bridge_queued", "sends waiting for a provider");
  plain("newspush_bridge_queued", queued);
  gauge("newspush_bridge_in_flight", "sends waiting for a provider's answer");
  plain("newspush_bridge_in_flight", in_flight);
  gauge("newspush_bridge_redis_up", "1 when Redis answers");
  plain("newspush_bridge_redis_up", redis_ready ? 1 : 0);
  gauge("newspush_bridge_group_ready", "1 when the consumer group exists");
  plain("newspush_bridge_group_ready", group_ready ? 1 : 0);
  out +=
      "# HELP newspush_bridge_provider_latency_seconds request to answer\n"
      "# TYPE newspush_bridge_provider_latency_seconds histogram\n";
  for (const auto& [platform, h] : latency) {
    for (int i = 0; i < 8; ++i)
      out += "newspush_bridge_provider_latency_seconds_bucket{platform=\"" + platform + "\",le=\"" +
             number(kBucketSeconds[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
    out += "newspush_bridge_provider_latency_seconds_bucket{platform=\"" + platform +
           "\",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += "newspush_bridge_provider_latency_seconds_sum{platform=\"" + platform + "\"} " +
           number(h.sum_seconds) + "\n";
    out += "newspush_bridge_provider_latency_seconds_count{platform=\"" + platform + "\"} " +
           std::to_string(h.count) + "\n";
  }
  return out;
}

}  // namespace newspush::bridge

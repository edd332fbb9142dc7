#pragma once
// Everything one run measured, as the report writers need it. Latencies are in microseconds.
#include <cstdint>
#include <string>
#include <vector>

#include "loadtest/client_fleet.hpp"
#include "loadtest/options.hpp"
#include "loadtest/server_probe.hpp"

namespace newspush::loadtest {

struct Percentiles {
  std::uint64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  double mean = 0;
  std::uint64_t count = 0;
  static Percentiles of(const LatencyHistogram& histogram);
};

struct SecondSample {
  double t = 0;  // seconds since the run started
  std::string phase;
  double published_per_s = 0;
  double deliveries_per_s = 0;
  Percentiles latency;
  std::uint64_t connections = 0;
  double generator_cpu_percent = 0;  // this process: when near 100% per thread, it is the limit
  double server_cpu_percent = -1;    // -1: no --server-pid
  double server_rss_mb = -1;
};

// One measured publishing phase: the single phase of fixed/slow/reconnect, or one ramp step.
struct StepResult {
  double rate = 0;
  double breaking_rate = 0;
  double seconds = 0;
  std::uint64_t published = 0;
  std::uint64_t expected = 0;   // deliveries due to the reading clients
  std::uint64_t delivered = 0;  // unique deliveries received
  std::uint64_t lost = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t out_of_order = 0;
  double deliveries_per_s = 0;
  Percentiles latency;
  double server_cpu_seconds = -1;
  double server_cpu_s_per_million = -1;
  double server_cpu_percent = -1;     // of one core, over the step and its drain
  double generator_cpu_percent = -1;  // this process, all its threads
  bool passed = false;  // nothing lost, duplicated or reordered and p99 under the target
};

struct RunRecord {
  Options options;
  FileLimit file_limit;
  std::string started_at;                               // ISO 8601, UTC
  std::string load_average_before, load_average_after;  // of the whole machine (1, 5, 15 min)

  // Connecting
  std::uint64_t subscribed = 0;
  std::uint64_t connect_failures = 0;
  double connect_seconds = 0;
  double connects_per_s = 0;

  std::vector<SecondSample> timeline;
  std::vector<StepResult> steps;
  int best_step = -1;  // ramp: the step with the highest deliveries/s that passed
  Percentiles overall_latency;
  FleetSummary fleet;
  std::uint64_t publish_errors = 0;
  std::uint64_t published_unheard = 0;

  // idle
  double server_rss_before_mb = -1;
  double server_rss_after_mb = -1;
  double server_bytes_per_connection = -1;

  // reconnect
  bool server_signalled = false;
  std::uint64_t dropped = 0;     // subscribed clients that lost their connection
  double all_back_seconds = -1;  // signal -> every dropped client resubscribed; -1: not all
  std::uint64_t resubscribed = 0;

  bool ok = false;
  std::vector<std::string> problems;
};

}  // namespace newspush::loadtest

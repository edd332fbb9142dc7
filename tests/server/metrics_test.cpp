// Per-worker hot-path counters: each worker writes its own, /metrics and /api/v1/stats show the
// sum (the peak queue: the largest), under the names dashboards and tests already use.
#include "server/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace newspush {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(WorkerCounters, EachOnItsOwnCacheLines) {
  EXPECT_EQ(alignof(WorkerCounters) % 64, 0u);
  EXPECT_EQ(sizeof(WorkerCounters) % 64, 0u);
}

TEST(WorkerCounters, ScrapeSumsEveryWorker) {
  WorkerCounters first, second;
  Metrics metrics;
  metrics.worker_counters = {&first, &second};
  first.deliveries.add(3);
  second.deliveries.add(4);
  first.frames_written.add(2);
  second.frames_written.add(5);
  first.bytes_written.add(100);
  second.bytes_written.add(23);
  first.send_queue_peak_bytes.raise_to(700);
  first.send_queue_peak_bytes.raise_to(500);  // a peak never goes down
  second.send_queue_peak_bytes.raise_to(600);
  second.trending_conflated.add(2);
  first.send_queue_bytes.add(500);
  first.send_queue_bytes.add(-200);  // a gauge: written out, or dropped
  second.send_queue_bytes.add(50);
  first.fanout_latency.observe(std::chrono::microseconds(40));     // le 0.00005
  second.fanout_latency.observe(std::chrono::microseconds(3000));  // le 0.005

  auto text = render_prometheus(metrics);
  EXPECT_TRUE(has_line(text, "newspush_deliveries_total 7")) << text;
  EXPECT_TRUE(has_line(text, "newspush_frames_written_total 7"));
  EXPECT_TRUE(has_line(text, "newspush_bytes_written_total 123"));
  EXPECT_TRUE(has_line(text, "newspush_send_queue_peak_bytes 700"));
  EXPECT_TRUE(has_line(text, "newspush_trending_conflated_total 2"));
  EXPECT_TRUE(has_line(text, "newspush_send_queue_bytes 350"));
  EXPECT_TRUE(has_line(text, "newspush_fanout_latency_seconds_bucket{le=\"5e-05\"} 1"));
  EXPECT_TRUE(has_line(text, "newspush_fanout_latency_seconds_bucket{le=\"0.0025\"} 1"));
  EXPECT_TRUE(has_line(text, "newspush_fanout_latency_seconds_bucket{le=\"0.005\"} 2"));
  EXPECT_TRUE(has_line(text, "newspush_fanout_latency_seconds_bucket{le=\"+Inf\"} 2"));
  EXPECT_TRUE(has_line(text, "newspush_fanout_latency_seconds_sum 0.003040"));
  EXPECT_TRUE(has_line(text, "newspush_fanout_latency_seconds_count 2"));

  auto stats = nlohmann::json::parse(render_stats_json(metrics));
  EXPECT_EQ(stats["deliveries"], 7);
  EXPECT_EQ(stats["frames_written"], 7);
  EXPECT_EQ(stats["bytes_written"], 123);
  EXPECT_EQ(stats["send_queue_peak_bytes"], 700);
  EXPECT_EQ(stats["send_queue_bytes"], 350);
  EXPECT_EQ(stats["trending"]["conflated"], 2);
}

TEST(WorkerCounters, NoWorkersMeansZeros) {
  Metrics metrics;
  auto text = render_prometheus(metrics);
  EXPECT_TRUE(has_line(text, "newspush_deliveries_total 0"));
  EXPECT_TRUE(has_line(text, "newspush_fanout_latency_seconds_count 0"));
}

// Workers counting while another thread scrapes: every scrape is a plausible total (never more
// than was counted, never less than an earlier scrape), and the last one is exact.
TEST(WorkerCounters, ScrapesWhileWorkersCount) {
  constexpr int kWorkers = 4;
  constexpr std::uint64_t kPerWorker = 200'000;
  std::vector<WorkerCounters> counters(kWorkers);
  Metrics metrics;
  for (auto& c : counters) metrics.worker_counters.push_back(&c);
  std::atomic<int> running{kWorkers};
  std::vector<std::thread> workers;
  for (auto& c : counters)
    workers.emplace_back([&c, &running] {
      for (std::uint64_t i = 0; i < kPerWorker; ++i) c.deliveries.add(1);
      running.fetch_sub(1);
    });
  std::uint64_t last = 0;
  while (running.load() > 0) {
    auto now = metrics.totals().deliveries;
    ASSERT_GE(now, last);
    ASSERT_LE(now, kWorkers * kPerWorker);
    last = now;
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(metrics.totals().deliveries, kWorkers * kPerWorker);
}

}  // namespace
}  // namespace newspush

#pragma once
// The built-in newsroom: publishes articles from its own thread through a PublishSink (Redis for
// newspushd, HTTP for Nchan), paced evenly at the rates it is given, and counts what it published
// per stream so clients' receipts can be checked.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "loadtest/article_wire.hpp"
#include "loadtest/publish_sink.hpp"

namespace newspush::loadtest {

class Publisher {
 public:
  Publisher(std::unique_ptr<PublishSink> sink, unsigned article_bytes);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Connects once (throws std::runtime_error if the sink is unreachable), then starts the thread.
  void start();
  // Articles per second; 0 and 0 pauses. Takes effect at once, pacing restarts from now.
  void set_rates(double articles_per_second, double breaking_per_second);
  // set_rates(0, 0), then returns once the article in flight (if any) is counted, so published()
  // is final. (Nchan delivers before it answers the POST: counting late would misplace articles.)
  void pause();
  void stop();

  std::uint64_t published(unsigned stream) const { return published_[stream].load(); }
  std::uint64_t published_total() const;
  std::uint64_t errors() const { return errors_.load(); }
  // Accepted with nobody subscribed (Redis: no newspushd on the channel; Nchan: 202).
  std::uint64_t unheard() const { return unheard_.load(); }

 private:
  void run();
  bool publish(unsigned stream, unsigned category);

  std::unique_ptr<PublishSink> sink_;
  unsigned article_bytes_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex rates_mutex_;
  double rate_ = 0;
  double breaking_rate_ = 0;
  std::uint64_t rates_generation_ = 0;
  std::atomic<std::uint64_t> applied_generation_{0};  // the rates the thread has taken up
  std::array<std::atomic<std::uint64_t>, kStreams> published_{};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> unheard_{0};
};

}  // namespace newspush::loadtest

#pragma once
// The built-in newsroom: publishes articles on Redis from its own thread, paced evenly at the rates
// it is given, and counts what it published per stream so clients' receipts can be checked.
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/redis_url.hpp"
#include "loadtest/article_wire.hpp"

namespace newspush::loadtest {

class Publisher {
 public:
  Publisher(RedisEndpoint redis, std::string channel, unsigned article_bytes);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Connects once (throws std::runtime_error if Redis is unreachable), then starts the thread.
  void start();
  // Articles per second; 0 and 0 pauses. Takes effect at once, pacing restarts from now.
  void set_rates(double articles_per_second, double breaking_per_second);
  void stop();

  std::uint64_t published(unsigned stream) const { return published_[stream].load(); }
  std::uint64_t published_total() const;
  std::uint64_t errors() const { return errors_.load(); }
  // PUBLISH replies of 0: nobody (no newspushd) was subscribed to the channel.
  std::uint64_t unheard() const { return unheard_.load(); }

 private:
  void run();
  bool publish(unsigned stream, unsigned category);

  RedisEndpoint redis_;
  std::string channel_;
  unsigned article_bytes_;
  void* context_ = nullptr;  // redisContext*, kept out of this header
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex rates_mutex_;
  double rate_ = 0;
  double breaking_rate_ = 0;
  std::uint64_t rates_generation_ = 0;
  std::array<std::atomic<std::uint64_t>, kStreams> published_{};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> unheard_{0};
};

}  // namespace newspush::loadtest

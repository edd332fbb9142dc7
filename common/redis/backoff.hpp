#pragma once
// Capped exponential backoff with jitter, so that many nodes reconnecting to one Redis after an
// outage do not arrive in lock-step.
#include <chrono>
#include <cstdint>
#include <random>

namespace newspush::redis {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, std::uint64_t seed);
  // Next delay: a random value in [d/2, d] where d = min(cap, initial * 2^attempts).
  std::chrono::milliseconds next();
  void reset();
  unsigned attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds cap_;
  unsigned attempts_ = 0;
  std::mt19937_64 random_;
};

}  // namespace newspush::redis

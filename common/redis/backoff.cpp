#include "common/redis/backoff.hpp"

#include <algorithm>

namespace newspush::redis {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap,
                 std::uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds{0})),
      cap_(std::max(cap, initial_)),
      random_(seed) {}

std::chrono::milliseconds Backoff::next() {
  // Double by steps rather than shifting so that a long outage cannot overflow the count.
  std::chrono::milliseconds delay = initial_;
  for (unsigned i = 0; i < attempts_ && delay < cap_; ++i) delay *= 2;
  delay = std::min(delay, cap_);
  ++attempts_;
  std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(delay.count() / 2,
                                                                       delay.count());
  return std::chrono::milliseconds{jitter(random_)};
}

void Backoff::reset() { attempts_ = 0; }

}  // namespace newspush::redis

#include "bridge/daemon/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace newspush::bridge {

// Floating-point refills land a hair short of a whole token at the very time next_token named.
constexpr double kWhole = 1.0 - 1e-9;

RateLimiter::RateLimiter(std::size_t per_second, Clock::time_point now)
    : per_second_(per_second),
      capacity_(std::max(1.0, static_cast<double>(per_second) / 10.0)),
      tokens_(capacity_),
      last_(now) {}

void RateLimiter::refill(Clock::time_point now) {
  if (now <= last_) return;  // a clock that went nowhere (or backwards) adds nothing
  double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(capacity_, tokens_ + elapsed * static_cast<double>(per_second_));
  last_ = now;
}

bool RateLimiter::try_take(Clock::time_point now) {
  if (unlimited()) return true;
  refill(now);
  if (tokens_ < kWhole) return false;
  tokens_ -= 1.0;
  return true;
}

RateLimiter::Clock::time_point RateLimiter::next_token(Clock::time_point now) {
  if (unlimited()) return now;
  refill(now);
  if (tokens_ >= kWhole) return now;
  double seconds = (1.0 - tokens_) / static_cast<double>(per_second_);
  // Rounded up: woken a little late finds the token, woken early would only sleep again.
  auto wait = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  return now + wait + Clock::duration(1);
}

}  // namespace newspush::bridge

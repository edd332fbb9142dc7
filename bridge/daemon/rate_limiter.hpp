#pragma once
// A token bucket for one provider's sends per second (--fcm-rate, --apns-rate, --webpush-rate).
// Pure: the caller passes the time, so the dispatcher drives it with the steady clock and the
// unit test with a made-up one. The bucket holds at most a tenth of a second's worth (at least
// one token): a backlog is sent spread out rather than in one burst after an idle spell.
#include <chrono>
#include <cstddef>

namespace newspush::bridge {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // per_second 0: unlimited (try_take always succeeds). Starts full.
  RateLimiter(std::size_t per_second, Clock::time_point now);

  bool unlimited() const { return per_second_ == 0; }
  // Takes one token if one is there at `now`.
  bool try_take(Clock::time_point now);
  // When the next whole token is there (`now` when one is there already).
  Clock::time_point next_token(Clock::time_point now);

 private:
  void refill(Clock::time_point now);

  std::size_t per_second_;
  double capacity_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace newspush::bridge

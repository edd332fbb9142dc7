#pragma once
// A client may make mistakes (a typo in a category, a stale op) without being dropped, but one
// that keeps sending garbage is cut off: a token bucket of `capacity` errors refilled one per
// `refill_every`.
#include <algorithm>
#include <chrono>

namespace newspush {

class ErrorBudget {
 public:
  using Clock = std::chrono::steady_clock;

  ErrorBudget(unsigned capacity, Clock::duration refill_every)
      : capacity_(capacity), tokens_(capacity), refill_every_(refill_every) {}

  // Spends one error; false when the budget was already empty.
  bool spend(Clock::time_point now) {
    refill(now);
    if (tokens_ == 0) return false;
    --tokens_;
    return true;
  }

 private:
  void refill(Clock::time_point now) {
    if (tokens_ == capacity_) {
      last_refill_ = now;
      return;
    }
    auto earned = (now - last_refill_) / refill_every_;
    if (earned <= 0) return;
    tokens_ = static_cast<unsigned>(std::min<long long>(capacity_, tokens_ + earned));
    last_refill_ += earned * refill_every_;
  }

  unsigned capacity_;
  unsigned tokens_;
  Clock::duration refill_every_;
  Clock::time_point last_refill_{};
};

}  // namespace newspush

#pragma once
// One connection's views: each article counts once, and a connection cannot count many articles
// quickly, so one client cannot push anything up the rankings. Allocated on a connection's first
// view only: idle connections pay nothing.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

#include "server/net/error_budget.hpp"

namespace newspush::trending {

class ViewLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { count, duplicate, rate_limited };

  // A reader opens a few articles a minute; a burst of 10 covers a quick skim.
  static constexpr unsigned kBurst = 10;
  static constexpr auto kRefillEvery = std::chrono::seconds(6);
  // Past this many distinct articles the connection is not a reader.
  static constexpr std::size_t kMaxRemembered = 256;

  ViewLimiter() : tokens_(kBurst, kRefillEvery) {}

  Verdict admit(std::string_view article, Clock::time_point now) {
    std::string id(article);
    if (seen_.contains(id)) return Verdict::duplicate;
    if (seen_.size() >= kMaxRemembered || !tokens_.spend(now)) return Verdict::rate_limited;
    seen_.insert(std::move(id));
    return Verdict::count;
  }

 private:
  std::unordered_set<std::string> seen_;
  ErrorBudget tokens_;
};

}  // namespace newspush::trending

#include "server/trending/decay.hpp"

#include <algorithm>
#include <cmath>

namespace newspush::trending {

namespace {

double half_lives_since_base(const DecayBase& base, std::int64_t now_ms) {
  return static_cast<double>(now_ms - base.t0_ms) / static_cast<double>(base.half_life_ms);
}

}  // namespace

double view_weight(const DecayBase& base, std::int64_t now_ms) {
  return std::exp2(half_lives_since_base(base, now_ms));
}

double current_score(const DecayBase& base, double stored, std::int64_t now_ms) {
  return stored * std::exp2(-half_lives_since_base(base, now_ms));
}

std::optional<Rebase> plan_rebase(const DecayBase& base, std::int64_t now_ms,
                                  std::int64_t wanted_half_life_ms) {
  // Past 2^-1000 every stored score is long forgotten (Redis drops what falls below 1e-9), and
  // the factor must stay a positive double; above 1 only a clock behind t0 could ask for it.
  auto bounded = [](double factor) { return std::clamp(factor, std::ldexp(1.0, -1000), 1.0); };
  if (wanted_half_life_ms != base.half_life_ms) {
    return Rebase{{now_ms, wanted_half_life_ms},
                  bounded(std::exp2(-half_lives_since_base(base, now_ms)))};
  }
  double elapsed = half_lives_since_base(base, now_ms);
  if (elapsed < kRebaseAfterHalfLives) return std::nullopt;
  auto whole = static_cast<std::int64_t>(std::floor(elapsed));
  return Rebase{{base.t0_ms + whole * base.half_life_ms, base.half_life_ms},
                std::ldexp(1.0, -static_cast<int>(std::min<std::int64_t>(whole, 1000)))};
}

}  // namespace newspush::trending

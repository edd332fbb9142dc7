#pragma once
// Exponentially decayed view counts without a decay pass. A view at time t adds
// 2^((t - t0) / half_life) to its article's stored score, so old views shrink relative to new ones
// by themselves; the score a reader sees is stored * 2^(-(now - t0) / half_life), i.e. the sum over
// views of 2^(-age / half_life): a view just now counts 1, one a half-life ago counts 0.5.
// Stored scores grow with time, so now and then the base moves forward ("rebase") and every stored
// score is multiplied by the matching factor; a whole number of half-lives makes that factor an
// exact power of two, so the multiplication is exact and order and ties are kept bit for bit.
#include <cstdint>
#include <optional>

namespace newspush::trending {

struct DecayBase {
  std::int64_t t0_ms = 0;
  std::int64_t half_life_ms = 0;
  bool operator==(const DecayBase&) const = default;
};

// Moving the base forward; stored scores are multiplied by `factor`.
struct Rebase {
  DecayBase base;
  double factor = 1;
};

// Rebase once stored weights reach 2^32: far from a double's range, and rare (64 h with a 2 h
// half-life).
inline constexpr double kRebaseAfterHalfLives = 32;

// What one view adds to the stored score at `now_ms`.
double view_weight(const DecayBase& base, std::int64_t now_ms);
// The decayed score readers see at `now_ms`, from a stored score.
double current_score(const DecayBase& base, double stored, std::int64_t now_ms);
// None while the base is fine. A new half-life takes effect at once: the base moves to now and
// the stored scores become the current ones, so nothing jumps.
std::optional<Rebase> plan_rebase(const DecayBase& base, std::int64_t now_ms,
                                  std::int64_t wanted_half_life_ms);

}  // namespace newspush::trending

#pragma once
// Fictional newsroom copy for `newspush demo-feed`: places, teams and events are invented.
#include <span>
#include <string_view>
#include <vector>

namespace newspush::cli {

struct SampleArticle {
  std::string_view category;
  std::string_view title;
  std::string_view summary;
  std::vector<std::string_view> tags;
};

// Five per category: politique, societe, economie, sports, culture, international, sante,
// technologie, and premium-enquetes (the demo's subscriber-only category).
std::span<const SampleArticle> sample_articles();

}  // namespace newspush::cli

#include "server/auth/restricted_categories.hpp"

#include <algorithm>
#include <functional>

#include "protocol/category.hpp"

namespace newspush::auth {
namespace {

// A sorted insert that keeps one copy of each value.
void insert_unique(std::vector<std::string>& sorted, std::string_view value) {
  auto at = std::lower_bound(sorted.begin(), sorted.end(), value, std::less<>{});
  if (at == sorted.end() || *at != value) sorted.emplace(at, value);
}

}  // namespace

bool CategoryPatterns::is_valid_pattern(std::string_view pattern) {
  if (pattern.ends_with('*')) pattern.remove_suffix(1);
  // A prefix obeys the slug rules, so it can only ever match slugs; an empty one would be "*".
  return protocol::is_valid_category(pattern);
}

std::string CategoryPatterns::add(std::string_view pattern) {
  if (!is_valid_pattern(pattern)) {
    return "a category pattern is a slug [a-z0-9-]{1,32}, or such a prefix followed by '*' "
           "(e.g. premium-*)";
  }
  if (pattern.ends_with('*')) {
    pattern.remove_suffix(1);
    insert_unique(prefixes_, pattern);
  } else {
    insert_unique(exact_, pattern);
  }
  return {};
}

bool CategoryPatterns::matches(std::string_view category) const {
  if (std::binary_search(exact_.begin(), exact_.end(), category, std::less<>{})) return true;
  return std::any_of(prefixes_.begin(), prefixes_.end(), [category](const std::string& prefix) {
    return category.starts_with(prefix);
  });
}

std::vector<std::string> CategoryPatterns::patterns() const {
  std::vector<std::string> all(exact_);
  for (const auto& prefix : prefixes_) all.push_back(prefix + '*');
  return all;
}

}  // namespace newspush::auth

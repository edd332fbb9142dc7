#include "protocol/category.hpp"

#include <algorithm>

namespace newspush::protocol {

bool is_valid_category(std::string_view category) {
  if (category.empty() || category.size() > kMaxCategoryLength) return false;
  // Spelled out rather than std::islower/isdigit: those depend on the C locale.
  return std::all_of(category.begin(), category.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace newspush::protocol

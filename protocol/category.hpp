#pragma once
#include <cstddef>
#include <string_view>

namespace newspush::protocol {

inline constexpr std::size_t kMaxCategoryLength = 32;
// Subscribing to this pseudo-category means every category.
inline constexpr std::string_view kAllCategories = "*";

// A category is a slug: [a-z0-9-]{1,32}.
bool is_valid_category(std::string_view category);

}  // namespace newspush::protocol

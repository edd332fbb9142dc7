#include "protocol/cursor.hpp"

#include <charconv>

namespace newspush::protocol {
namespace {

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::optional<Cursor> parse_cursor(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || text.size() > 128) return std::nullopt;
  std::string_view id = text.substr(colon + 1);
  auto dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  Cursor cursor;
  cursor.epoch = std::string(text.substr(0, colon));
  if (!parse_u64(id.substr(0, dash), cursor.ms) || !parse_u64(id.substr(dash + 1), cursor.seq))
    return std::nullopt;
  return cursor;
}

std::string to_string(const Cursor& cursor) {
  return cursor.epoch + ":" + std::to_string(cursor.ms) + "-" + std::to_string(cursor.seq);
}

}  // namespace newspush::protocol

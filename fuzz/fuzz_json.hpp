#pragma once
// For the targets whose parsers produce server messages: a separate header, so the others do
// not pay for compiling nlohmann/json.
#include <nlohmann/json.hpp>
#include <string_view>

#include "fuzz/fuzz_check.hpp"

namespace newspush::fuzz {

// What every server message must be: one JSON object, UTF-8, on one line (frames are
// newline-delimited).
inline nlohmann::ordered_json parse_message(std::string_view text) {
  FUZZ_CHECK(text.find('\n') == std::string_view::npos);
  FUZZ_CHECK(is_utf8(text));
  auto json = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(json.is_object());
  return json;
}

}  // namespace newspush::fuzz

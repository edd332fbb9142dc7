#pragma once
// For the targets whose parsers produce server messages: a separate header, so the others do
// not pay for compiling nlohmann/json. The parsing itself is compiled once, in fuzz_json.cpp.
#include <nlohmann/json.hpp>
#include <string_view>

#include "fuzz/fuzz_check.hpp"

namespace newspush::fuzz {

// Any JSON text; a discarded value when it is not JSON.
nlohmann::ordered_json parse_json(std::string_view text);

// What every server message must be: one JSON object, UTF-8, on one line (frames are
// newline-delimited). Aborts otherwise.
nlohmann::ordered_json parse_message(std::string_view text);

}  // namespace newspush::fuzz

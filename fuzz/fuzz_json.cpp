#include "fuzz/fuzz_json.hpp"

namespace newspush::fuzz {

nlohmann::ordered_json parse_json(std::string_view text) {
  return nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
}

nlohmann::ordered_json parse_message(std::string_view text) {
  FUZZ_CHECK(text.find('\n') == std::string_view::npos);
  FUZZ_CHECK(is_utf8(text));
  auto json = parse_json(text);
  FUZZ_CHECK(json.is_object());
  return json;
}

}  // namespace newspush::fuzz

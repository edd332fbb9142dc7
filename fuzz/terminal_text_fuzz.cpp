// Text from the wire shown by the CLI's watch command (terminal_safe, terminal_safe_json).
#include <cstdint>
#include <string>

#include "cli/terminal_text.hpp"
#include "fuzz/fuzz_json.hpp"

using namespace newspush;

namespace {

// No C0 control, DEL, nor C1 control (U+0080..U+009F, encoded C2 80..C2 9F).
bool has_no_control(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);

  const std::string safe = cli::terminal_safe(text);
  FUZZ_CHECK(fuzz::is_utf8(safe) && has_no_control(safe));
  // Text that was already harmless passes unchanged.
  if (fuzz::is_utf8(text) && has_no_control(text)) FUZZ_CHECK(safe == text);

  const std::string json_safe = cli::terminal_safe_json(text);
  FUZZ_CHECK(fuzz::is_utf8(json_safe) && has_no_control(json_safe));
  // A JSON line (no raw control between tokens) keeps its meaning.
  bool raw_control = false;
  for (char c : text) raw_control = raw_control || static_cast<unsigned char>(c) < 0x20;
  if (!raw_control) {
    auto before = fuzz::parse_json(text);
    if (!before.is_discarded()) {
      auto after = fuzz::parse_json(json_safe);
      FUZZ_CHECK(after == before);
    }
  }
  return 0;
}

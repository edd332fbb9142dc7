#pragma once
// Text from the wire (titles, categories, server messages) on a terminal: an escape sequence in a
// title must not clear the screen, retitle the window or move the cursor. Everything a terminal
// may act on is replaced: C0 controls (tab and newline included: one event is one line), DEL, the
// C1 controls U+0080..U+009F, and bytes that are not UTF-8 (a lone 0x9B is CSI to a terminal in a
// single-byte locale). Valid UTF-8 text ("Économie", "société") passes unchanged.
#include <string>
#include <string_view>

namespace newspush::cli {

// Each control or invalid byte becomes U+FFFD, so that the reader sees something was there.
std::string terminal_safe(std::string_view text);

// For --raw, whose lines are JSON meant for other programs: controls become \u00XX escapes and
// invalid bytes \ufffd, so a JSON string keeps its meaning while the terminal sees no control.
std::string terminal_safe_json(std::string_view line);

}  // namespace newspush::cli

#include "cli/terminal_text.hpp"

#include <cstddef>

namespace newspush::cli {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlongs, no
// surrogates, nothing past U+10FFFF), or 0 if it is not one.
std::size_t sequence_length(std::string_view s) {
  const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (!is_continuation(byte(i))) return 0;
  return length;
}

// The control character a sequence encodes (C0, DEL or C1), or -1 for text.
int control_of(std::string_view sequence) {
  const auto lead = static_cast<unsigned char>(sequence[0]);
  if (sequence.size() == 1) return lead < 0x20 || lead == 0x7F ? lead : -1;
  if (sequence.size() == 2 && lead == 0xC2) {
    const auto second = static_cast<unsigned char>(sequence[1]);
    if (second <= 0x9F) return second;  // U+0080..U+009F
  }
  return -1;
}

template <typename OnControl, typename OnInvalid>
std::string rewrite(std::string_view text, OnControl on_control, OnInvalid on_invalid) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t length = sequence_length(text);
    if (length == 0) {
      on_invalid(out);
      text.remove_prefix(1);
      continue;
    }
    const std::string_view sequence = text.substr(0, length);
    if (int control = control_of(sequence); control >= 0) on_control(out, control);
    else out += sequence;
    text.remove_prefix(length);
  }
  return out;
}

}  // namespace

std::string terminal_safe(std::string_view text) {
  const auto replace = [](std::string& out, auto&&...) { out += kReplacement; };
  return rewrite(text, replace, replace);
}

std::string terminal_safe_json(std::string_view line) {
  return rewrite(
      line,
      [](std::string& out, int control) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[(control >> 4) & 0xF];
        out += kHex[control & 0xF];
      },
      [](std::string& out) { out += "\\ufffd"; });
}

}  // namespace newspush::cli

#include "websocket/utf8.hpp"

#include <cstring>

namespace newspush::websocket {

bool Utf8Validator::feed(std::string_view bytes) noexcept {
  if (failed_) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p != end) {
    if (pending_ == 0) {
      // Text is mostly ASCII: skip it eight bytes at a time.
      while (end - p >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        if (word & 0x8080808080808080ULL) break;
        p += 8;
      }
      if (p == end) break;
      const unsigned char c = *p++;
      if (c < 0x80) continue;
      next_low_ = 0x80;
      next_high_ = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        pending_ = 1;
      } else if (c >= 0xE0 && c <= 0xEF) {
        pending_ = 2;
        if (c == 0xE0) next_low_ = 0xA0;
        if (c == 0xED) next_high_ = 0x9F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        pending_ = 3;
        if (c == 0xF0) next_low_ = 0x90;
        if (c == 0xF4) next_high_ = 0x8F;
      } else {
        // 80..BF with no lead byte, C0/C1 (always overlong), F5..FF (past U+10FFFF).
        failed_ = true;
        return false;
      }
    } else {
      const unsigned char c = *p++;
      if (c < next_low_ || c > next_high_) {
        failed_ = true;
        return false;
      }
      --pending_;
      next_low_ = 0x80;
      next_high_ = 0xBF;
    }
  }
  return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
  Utf8Validator validator;
  return validator.feed(text) && validator.at_boundary();
}

std::size_t utf8_prefix_size(std::string_view text, std::size_t max_size) noexcept {
  if (text.size() <= max_size) return text.size();
  std::size_t size = max_size;
  // Back off over continuation bytes to the lead byte of the character the cut would split.
  while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xC0) == 0x80) --size;
  return size;
}

}  // namespace newspush::websocket

#pragma once
// UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing past U+10FFFF), checked
// incrementally: a text message arrives in pieces split anywhere, even inside a code point, and
// must be refused at the first byte that no well-formed text could hold there (RFC 6455 8.1).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace newspush::websocket {

class Utf8Validator {
 public:
  // Checks the next bytes of the text. False from the first byte that makes it invalid on (the
  // validator stays failed until reset()).
  bool feed(std::string_view bytes) noexcept;
  // True when the bytes so far are well-formed and end on a code point boundary: the text may
  // end here.
  bool at_boundary() const noexcept { return !failed_ && pending_ == 0; }
  bool failed() const noexcept { return failed_; }
  void reset() noexcept { *this = Utf8Validator{}; }

 private:
  std::uint8_t pending_ = 0;  // continuation bytes still expected in this code point
  // The range of the next continuation byte: narrower than 0x80..0xBF right after the lead bytes
  // E0 (no overlong), ED (no surrogate), F0 (no overlong) and F4 (nothing past U+10FFFF).
  std::uint8_t next_low_ = 0x80;
  std::uint8_t next_high_ = 0xBF;
  bool failed_ = false;
};

bool is_valid_utf8(std::string_view text) noexcept;

// The length of the longest prefix of `text` no longer than `max_size` that ends on a code point
// boundary (`text` assumed well-formed): where to cut it without splitting a character.
std::size_t utf8_prefix_size(std::string_view text, std::size_t max_size) noexcept;

}  // namespace newspush::websocket

// The incremental UTF-8 validator against a reference that decodes code points (a different
// method from the validator's byte ranges), over every sequence of up to three bytes and a
// sample of four-byte ones, fed whole and split at every point.
#include "websocket/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace newspush::websocket {
namespace {

// Decodes code points and checks them against RFC 3629's rules: the shortest form, no
// surrogates, at most U+10FFFF.
bool reference_is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int length;
    std::uint32_t cp;
    if (c < 0x80) {
      length = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      cp = c & 0x07;
    } else
      return false;
    if (i + length > s.size()) return false;
    for (int k = 1; k < length; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    const std::uint32_t shortest_min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < shortest_min[length]) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    if (cp > 0x10FFFF) return false;
    i += length;
  }
  return true;
}

bool split_is_utf8(std::string_view s, std::size_t cut) {
  Utf8Validator v;
  return v.feed(s.substr(0, cut)) && v.feed(s.substr(cut)) && v.at_boundary();
}

TEST(Utf8Validator, AgreesWithTheReferenceOnEverySequenceUpToThreeBytes) {
  std::string s;
  for (int a = 0; a < 256; ++a) {
    s = {static_cast<char>(a)};
    ASSERT_EQ(is_valid_utf8(s), reference_is_utf8(s)) << a;
    for (int b = 0; b < 256; ++b) {
      s = {static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(is_valid_utf8(s), reference_is_utf8(s)) << a << " " << b;
      ASSERT_EQ(split_is_utf8(s, 1), reference_is_utf8(s));
      if (a < 0xE0 || a > 0xF4) continue;  // other leads are settled by their second byte
      for (int c = 0; c < 256; ++c) {
        s = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        const bool expected = reference_is_utf8(s);
        ASSERT_EQ(is_valid_utf8(s), expected) << a << " " << b << " " << c;
        ASSERT_EQ(split_is_utf8(s, 1), expected);
        ASSERT_EQ(split_is_utf8(s, 2), expected);
      }
    }
  }
}

TEST(Utf8Validator, AgreesWithTheReferenceOnFourByteSequences) {
  const int bytes[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF};
  for (int a = 0xF0; a <= 0xFF; ++a)
    for (int b : bytes)
      for (int c : bytes)
        for (int d : bytes) {
          const std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                              static_cast<char>(d)};
          const bool expected = reference_is_utf8(s);
          ASSERT_EQ(is_valid_utf8(s), expected) << a << " " << b << " " << c << " " << d;
          for (std::size_t cut = 1; cut < 4; ++cut) ASSERT_EQ(split_is_utf8(s, cut), expected);
        }
}

TEST(Utf8Validator, FailsAtTheFirstInvalidByteAndStaysFailed) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed("abc\xe2\x82"));
  EXPECT_FALSE(v.at_boundary());  // inside "€"
  EXPECT_TRUE(v.feed("\xac"));
  EXPECT_TRUE(v.at_boundary());
  EXPECT_FALSE(v.feed("\xc0"));
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.feed("plain"));
  EXPECT_FALSE(v.at_boundary());
  v.reset();
  EXPECT_TRUE(v.feed("plain"));
  EXPECT_TRUE(v.at_boundary());
}

TEST(Utf8Validator, LongAsciiRunsWithOneBadByteAnywhere) {
  // The eight-bytes-at-a-time path must not skip a bad byte at any alignment.
  for (std::size_t at = 0; at < 40; ++at) {
    std::string s(40, 'a');
    s[at] = '\x80';
    EXPECT_FALSE(is_valid_utf8(s)) << at;
    s[at] = '\x7f';
    EXPECT_TRUE(is_valid_utf8(s)) << at;
  }
}

TEST(Utf8PrefixSize, NeverSplitsACharacter) {
  const std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";  // a é € 𝄞: 1+2+3+4 bytes
  const std::size_t expected[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10};
  for (std::size_t max = 0; max <= 11; ++max)
    EXPECT_EQ(utf8_prefix_size(s, max), expected[max]) << max;
}

}  // namespace
}  // namespace newspush::websocket

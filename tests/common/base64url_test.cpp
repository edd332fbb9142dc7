#include "common/base64url.hpp"

#include <gtest/gtest.h>

namespace newspush {
namespace {

TEST(Base64url, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");  // the two URL-safe digits
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode("\xfb\xef\xbe"), "----");
  EXPECT_EQ(base64url_encode("\xff\xff\xff"), "____");
}

TEST(Base64url, DecodesUnpaddedAndPaddedOnlyWhenAskedTo) {
  EXPECT_EQ(base64url_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64url_decode("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(base64url_decode(""), "");
  EXPECT_FALSE(base64url_decode("Zm9vYg=="));  // JWT segments carry no padding
  EXPECT_EQ(base64url_decode_maybe_padded("Zm9vYg"), "foob");
  EXPECT_EQ(base64url_decode_maybe_padded("Zm9vYg=="), "foob");
  EXPECT_EQ(base64url_decode_maybe_padded("Zm9vYmE="), "fooba");
}

TEST(Base64url, RefusesWhatIsNotCanonicalBase64url) {
  EXPECT_FALSE(base64url_decode("+/+/"));  // standard base64's alphabet
  EXPECT_FALSE(base64url_decode("Zm9v Yg"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));    // 6 bits left over: not a byte
  EXPECT_FALSE(base64url_decode("Zh"));       // bits after the last byte are not zero
  EXPECT_FALSE(base64url_decode_maybe_padded("Zm9vYg="));  // padding of the wrong length
  EXPECT_FALSE(base64url_decode_maybe_padded("Zm9vYg==="));
  EXPECT_FALSE(base64url_decode_maybe_padded("Zg==Zg=="));  // padding in the middle
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
}

TEST(Base64url, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t length = 0; length < all.size(); length += 7)
    EXPECT_EQ(base64url_decode(base64url_encode(all.substr(0, length))), all.substr(0, length));
}

}  // namespace
}  // namespace newspush

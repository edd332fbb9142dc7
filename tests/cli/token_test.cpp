// newspush token's signer (cli/token): base64url and HS256 against RFC 7515's own example.
#include "cli/token.hpp"

#include <gtest/gtest.h>

#include <string>

namespace newspush::cli {
namespace {

std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return bytes;
}

TEST(Base64Url, RfcVectorsWithoutPaddingAndWithTheUrlAlphabet) {
  // RFC 4648 section 10, less the '=' padding JWS drops.
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
  // '-' and '_' where standard base64 has '+' and '/'.
  EXPECT_EQ(base64url(from_hex("fbff")), "-_8");
  EXPECT_EQ(base64url(from_hex("fbefbe")), "----");
  EXPECT_EQ(base64url(from_hex("ffffff")), "____");
}

// RFC 7515 appendix A.1: the JWS signed with HMAC SHA-256.
TEST(Hs256, SignsRfc7515AppendixA1) {
  const std::string key = from_hex(
      "0323354b2b0fa5bc837e0665777ba68f5ab328e6f054c928a90f84b2d2502ebfd3fb5a92d20647ef968ab4c3"
      "77623d223d2e2172052e4f08c0cd9af567d080a3");
  const std::string header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
  const std::string payload =
      "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
  const std::string input = base64url(header) + "." + base64url(payload);
  EXPECT_EQ(
      input,
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
      "cnVlfQ");
  EXPECT_EQ(hs256_signature(input, key), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

TEST(Hs256, TokenIsHeaderClaimsAndTheSignatureOfBoth) {
  const std::string secret = "a-secret-of-at-least-thirty-two-bytes!!";
  const std::string claims = R"({"sub":"r1","exp":2000000000,"categories":["premium-*"]})";
  const std::string token = make_hs256_token(claims, secret);
  const auto first = token.find('.');
  const auto second = token.rfind('.');
  ASSERT_NE(first, second);
  EXPECT_EQ(token.substr(0, first), base64url(R"({"alg":"HS256","typ":"JWT"})"));
  EXPECT_EQ(token.substr(first + 1, second - first - 1), base64url(claims));
  EXPECT_EQ(token.substr(second + 1), hs256_signature(token.substr(0, second), secret));
  EXPECT_NE(token.substr(second + 1), hs256_signature(token.substr(0, second), secret + "x"));
}

}  // namespace
}  // namespace newspush::cli

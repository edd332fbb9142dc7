// newspush token's signer (cli/token): HS256 against RFC 7515's own example.
#include "cli/token.hpp"
#include "common/base64url.hpp"

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

// RFC 7515 appendix A.1: the JWS signed with HMAC SHA-256.
TEST(Hs256, SignsRfc7515AppendixA1) {
  const std::string key = from_hex(
      "0323354b2b0fa5bc837e0665777ba68f5ab328e6f054c928a90f84b2d2502ebfd3fb5a92d20647ef968ab4c3"
      "77623d223d2e2172052e4f08c0cd9af567d080a3");
  const std::string header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
  const std::string payload =
      "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
  const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
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
  EXPECT_EQ(token.substr(0, first), base64url_encode(R"({"alg":"HS256","typ":"JWT"})"));
  EXPECT_EQ(token.substr(first + 1, second - first - 1), base64url_encode(claims));
  EXPECT_EQ(token.substr(second + 1), hs256_signature(token.substr(0, second), secret));
  EXPECT_NE(token.substr(second + 1), hs256_signature(token.substr(0, second), secret + "x"));
}

}  // namespace
}  // namespace newspush::cli

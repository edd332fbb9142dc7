// --redis / NEWSPUSH_REDIS URLs (parse_redis_url) and how they are shown in logs (to_url).
#include <cstdint>
#include <string>

#include "common/redis_url.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace newspush;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url = fuzz::as_text(data, size);
  std::string error;
  auto endpoint = parse_redis_url(url, &error);

  // Error messages never quote the URL, which may hold a password: the same URL with other
  // letters in its user info gives the same answer. (Hex digits are kept for the %XX escapes.)
  if (auto at = url.rfind('@'); url.starts_with("redis://") && at != std::string_view::npos) {
    std::string other(url);
    for (std::size_t i = 8; i < at; ++i) {
      char& c = other[i];
      if (c >= 'g' && c <= 'z') c = static_cast<char>(c == 'z' ? 'g' : c + 1);
      else if (c >= 'G' && c <= 'Z') c = static_cast<char>(c == 'Z' ? 'G' : c + 1);
    }
    std::string other_error;
    auto other_endpoint = parse_redis_url(other, &other_error);
    FUZZ_CHECK(other_endpoint.has_value() == endpoint.has_value());
    FUZZ_CHECK(other_error == error);
  }
  if (!endpoint) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(!endpoint->host.empty());
  FUZZ_CHECK(endpoint->port >= 1);
  FUZZ_CHECK(endpoint->db >= 0 && endpoint->db <= 15);
  FUZZ_CHECK(endpoint->username.empty() || !endpoint->password.empty());

  const std::string shown = to_url(*endpoint);
  if (!endpoint->password.empty()) {
    // The password is not shown, unless its text happens to be in the rest of the URL (a
    // password "6379" and the port).
    RedisEndpoint other = *endpoint;
    other.password = "x";
    if (to_url(other).find(endpoint->password) == std::string::npos)
      FUZZ_CHECK(shown.find(endpoint->password) == std::string::npos);
  }

  // What the logs show is itself a URL naming the same server (the password masked).
  std::string again_error;
  auto again = parse_redis_url(shown, &again_error);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->host == endpoint->host && again->port == endpoint->port &&
             again->db == endpoint->db && again->username == endpoint->username);
  FUZZ_CHECK(again->password == (endpoint->password.empty() ? "" : "***"));
  return 0;
}

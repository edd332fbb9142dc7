// Connection tokens (auth::TokenVerifier::verify): whatever a reader sends as ?token=, in an auth
// command or as a Bearer token. Verified with a secret only: no input may pass without it.
#include <chrono>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "server/auth/token_verifier.hpp"

using namespace newspush;

namespace {

const auth::TokenVerifier& verifier() {
  static const auth::TokenVerifier instance(
      auth::TokenVerifierConfig{"a fuzzing secret that no input can know, 32+ bytes", {}, "", ""});
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token = fuzz::as_text(data, size);
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1750000000));
  auto verification = verifier().verify(token, now);
  FUZZ_CHECK(!verification.ok());  // forging an HMAC-SHA256 by chance would be news
  FUZZ_CHECK(!auth::to_string(verification.error).empty());
  // The reason goes into logs and answers: short, and never the token itself.
  FUZZ_CHECK(verification.detail.size() < 256);
  if (size > auth::kMaxTokenBytes) FUZZ_CHECK(verification.error == auth::TokenError::too_large);
  return 0;
}

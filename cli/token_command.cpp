// newspush token: sign a reader's connection token (JWT, HS256) for newspushd's subscriber-only
// categories, as a site's backend would; the demo (scripts/demo.sh) mints its reader's with it.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/token.hpp"
#include "protocol/category.hpp"

namespace newspush::cli {

namespace {

constexpr const char* kTokenHelp =
    "Usage: newspush token [--secret SECRET] [--category PATTERN]... [--ttl SECONDS]\n"
    "                      [--sub READER] [--issuer ISS] [--audience AUD]\n"
    "\n"
    "Prints a connection token for newspushd's subscriber-only categories: a JWT signed\n"
    "with HS256, as a site's backend signs one for a reader after its own paywall checks.\n"
    "Give it to `newspush watch --token`, or to a page (the JavaScript client's getToken).\n"
    "\n"
    "  --secret SECRET     newspushd's --token-secret, at least 32 bytes (default: the\n"
    "                      NEWSPUSH_TOKEN_SECRET environment variable, newspushd's own;\n"
    "                      better there than on the command line, where others can see it)\n"
    "  --category PATTERN  a subscriber-only category the reader may receive: a slug, or a\n"
    "                      prefix followed by '*' (premium-*); repeat for several (the\n"
    "                      token's categories claim; none: public categories only)\n"
    "  --ttl SECONDS       lifetime: exp is now + SECONDS (default 3600, at most 30 days)\n"
    "  --sub READER        who the reader is (sub claim)\n"
    "  --issuer ISS        iss claim, for a newspushd with --token-issuer\n"
    "  --audience AUD      aud claim, for a newspushd with --token-audience\n";

}  // namespace

int run_token(std::span<char* const> args) {
  ArgReader reader(args);
  std::string value;
  std::optional<std::string> secret;
  std::vector<std::string> categories;
  std::uint64_t ttl = 3600;
  std::optional<std::string> subject;
  std::optional<std::string> issuer;
  std::optional<std::string> audience;
  while (!reader.done()) {
    if (reader.flag("--help") || reader.flag("-h")) {
      std::cout << kTokenHelp;
      return 0;
    }
    if (reader.option("--secret", &value)) {
      secret = value;
    } else if (reader.option("--category", &value)) {
      std::string_view prefix = value;
      if (prefix.ends_with('*')) prefix.remove_suffix(1);
      if (!protocol::is_valid_category(prefix)) {
        throw UsageError(
            "token: --category must be a slug [a-z0-9-]{1,32} or such a prefix "
            "followed by '*' (premium-*), got '" +
            value + "'");
      }
      categories.push_back(value);
    } else if (reader.option("--ttl", &value)) {
      ttl = parse_number(value, "--ttl", 1, 30ull * 86400);
    } else if (reader.option("--sub", &value)) {
      subject = value;
    } else if (reader.option("--issuer", &value)) {
      issuer = value;
    } else if (reader.option("--audience", &value)) {
      audience = value;
    } else {
      throw UsageError("token: unexpected argument '" + std::string(reader.current()) + "'");
    }
  }
  if (!secret) {
    const char* from_env = std::getenv("NEWSPUSH_TOKEN_SECRET");
    if (from_env && *from_env) secret = from_env;
  }
  if (!secret) throw UsageError("token: needs --secret SECRET (or NEWSPUSH_TOKEN_SECRET)");
  if (secret->size() < kMinTokenSecretBytes) {
    throw UsageError("token: the secret needs at least " + std::to_string(kMinTokenSecretBytes) +
                     " bytes, as newspushd's --token-secret");
  }

  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  nlohmann::ordered_json claims;
  if (subject) claims["sub"] = *subject;
  if (issuer) claims["iss"] = *issuer;
  if (audience) claims["aud"] = *audience;
  claims["iat"] = now;
  claims["exp"] = now + static_cast<std::int64_t>(ttl);
  claims["categories"] = categories;
  std::cout << make_hs256_token(claims.dump(), *secret) << "\n";
  return 0;
}

}  // namespace newspush::cli

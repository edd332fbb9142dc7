// The newspush CLI and subscriber-only categories: `newspush token` signs a reader's token
// (checked here with the tests' own OpenSSL signer, and by a real newspushd), and `newspush watch
// --token` (or NEWSPUSH_TOKEN) receives a premium-* category that an anonymous watch is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/cli_runner.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_tokens.hpp"

#ifndef NEWSPUSH_CLI_BIN
#error "NEWSPUSH_CLI_BIN must be defined by the build"
#endif

namespace newspush::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kSecret = "cli-token-test-secret-0123456789abcdef";
const std::string kPremium = "premium-enquetes";

std::string base64url_decode(std::string_view text) {
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return "<not base64url>";
    bits = bits << 6 | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>(bits >> count & 0xff);
    }
  }
  return out;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string strip_newline(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// `newspush token` with the secret in the environment (as demo.sh does); "" when it fails.
std::string mint(std::vector<std::string> args, const std::string& secret = kSecret) {
  args.insert(args.begin(), "token");
  CliResult result = run_cli(args, {"NEWSPUSH_TOKEN_SECRET=" + secret});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.exit_code == 0 ? strip_newline(result.output) : "";
}

void publish(RedisServer& redis, const std::string& id, const std::string& category,
             const std::string& title) {
  json article = {{"id", id}, {"category", category}, {"title", title}};
  redis.command({"FCALL", "newspush_publish", "1", "news:log", article.dump()});
}

TEST(CliToken, SignsAnHs256TokenTheTestsOwnSignerAgreesWith) {
  const std::int64_t before = now_seconds();
  const std::string token = mint(
      {"--category", "premium-*", "--category", "live-blog", "--ttl", "600", "--sub", "reader-42"});
  const auto first = token.find('.');
  const auto second = token.rfind('.');
  ASSERT_NE(first, std::string::npos) << token;
  ASSERT_NE(first, second) << token;
  EXPECT_EQ(token.find('\n'), std::string::npos);

  const json header = json::parse(base64url_decode(token.substr(0, first)), nullptr, false);
  EXPECT_EQ(header, json({{"alg", "HS256"}, {"typ", "JWT"}}));
  const json claims =
      json::parse(base64url_decode(token.substr(first + 1, second - first - 1)), nullptr, false);
  ASSERT_TRUE(claims.is_object()) << token;
  EXPECT_EQ(claims["sub"], "reader-42");
  EXPECT_EQ(claims["categories"], json({"premium-*", "live-blog"}));
  ASSERT_TRUE(claims["exp"].is_number_integer()) << claims;
  EXPECT_GE(claims["exp"].get<std::int64_t>(), before + 600);
  EXPECT_LE(claims["exp"].get<std::int64_t>(), now_seconds() + 600);
  EXPECT_FALSE(claims.contains("aud"));
  EXPECT_FALSE(claims.contains("iss"));

  const std::string input = token.substr(0, second);
  EXPECT_EQ(token.substr(second + 1), tokens::base64url(tokens::hs256(kSecret)(input)));

  // --secret on the command line works too (the environment is the better place).
  CliResult flag = run_cli({"token", "--secret", kSecret, "--issuer", "site", "--audience", "push"},
                           {"NEWSPUSH_TOKEN_SECRET="});
  ASSERT_EQ(flag.exit_code, 0) << flag.output;
  const std::string other = strip_newline(flag.output);
  const json other_claims = json::parse(
      base64url_decode(other.substr(other.find('.') + 1, other.rfind('.') - other.find('.') - 1)),
      nullptr, false);
  EXPECT_EQ(other_claims["iss"], "site");
  EXPECT_EQ(other_claims["aud"], "push");
  EXPECT_EQ(other_claims["categories"], json::array());
  EXPECT_EQ(other_claims["exp"].get<std::int64_t>() - other_claims["iat"].get<std::int64_t>(),
            3600);
}

TEST(CliToken, RefusesWhatNewspushdWouldAndSaysWhy) {
  const std::vector<std::string> no_secret = {"NEWSPUSH_TOKEN_SECRET="};
  CliResult missing = run_cli({"token", "--category", "premium-*"}, no_secret);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("NEWSPUSH_TOKEN_SECRET"));

  CliResult short_secret = run_cli({"token", "--secret", "too-short"}, no_secret);
  EXPECT_EQ(short_secret.exit_code, 2) << short_secret.output;
  EXPECT_THAT(short_secret.output, HasSubstr("32 bytes"));

  for (const char* bad : {"*", "Premium-*", "premium-**", "", "économie"}) {
    CliResult result = run_cli({"token", "--secret", kSecret, "--category", bad});
    EXPECT_EQ(result.exit_code, 2) << bad << ": " << result.output;
  }
  for (const char* ttl : {"0", "2592001", "soon"}) {
    CliResult result = run_cli({"token", "--secret", kSecret, "--ttl", ttl});
    EXPECT_EQ(result.exit_code, 2) << ttl << ": " << result.output;
  }

  CliResult help = run_cli({"token", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, StartsWith("Usage: newspush token"));
  for (const char* flag : {"--secret", "--category", "--ttl", "--sub", "NEWSPUSH_TOKEN_SECRET"})
    EXPECT_THAT(help.output, HasSubstr(flag)) << flag;
  CliResult top = run_cli({"--help"});
  EXPECT_THAT(top.output, HasSubstr("newspush token"));
  CliResult watch_help = run_cli({"watch", "--help"});
  EXPECT_THAT(watch_help.output, HasSubstr("--token TOKEN"));
  EXPECT_THAT(watch_help.output, HasSubstr("NEWSPUSH_TOKEN"));
}

class CliWatchToken : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--restricted-category", "premium-*", "--token-secret",
                                     kSecret};
    args.insert(args.end(), extra.begin(), extra.end());
    node_ = std::make_unique<NewspushdProcess>(redis_.url(), args);
    ASSERT_TRUE(node_->wait_ready()) << node_->output();
  }

  std::vector<std::string> watch(std::vector<std::string> args) {
    args.insert(args.begin(), {NEWSPUSH_CLI_BIN, "watch", "--url", node_->ws_url()});
    return args;
  }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> node_;
};

TEST_F(CliWatchToken, WithATokenThePremiumCategoryArrivesWithoutOneItIsRefused) {
  start();
  const std::string token = mint({"--category", "premium-*", "--ttl", "600"});
  ASSERT_FALSE(token.empty());
  // Cleared, in case the environment running the tests sets it.
  ChildProcess subscriber(watch({"--token", token, kPremium, "sports"}), {"NEWSPUSH_TOKEN="});
  ChildProcess anonymous(watch({kPremium, "sports"}), {"NEWSPUSH_TOKEN="});
  ASSERT_TRUE(subscriber.wait_for_line("token accepted, valid until", 15s)) << subscriber.output();
  ASSERT_TRUE(subscriber.wait_for_line("subscribed to: premium-enquetes, sports", 15s))
      << subscriber.output();
  EXPECT_THAT(subscriber.output(), Not(HasSubstr("forbidden")));
  ASSERT_TRUE(anonymous.wait_for_line("subscribed to: sports", 15s)) << anonymous.output();
  ASSERT_TRUE(anonymous.wait_for_line("forbidden: premium-enquetes is for subscribers only", 15s))
      << anonymous.output();

  publish(redis_, "enq-1", kPremium, "Enquête : les comptes du syndicat des eaux");
  publish(redis_, "spo-1", "sports", "Victoire à Lyon");
  EXPECT_TRUE(subscriber.wait_for_line("Enquête : les comptes du syndicat des eaux", 15s))
      << subscriber.output();
  EXPECT_TRUE(subscriber.wait_for_line("Victoire à Lyon", 15s)) << subscriber.output();
  ASSERT_TRUE(anonymous.wait_for_line("Victoire à Lyon", 15s)) << anonymous.output();
  EXPECT_THAT(anonymous.output(), Not(HasSubstr("syndicat des eaux")));

  // Nothing but the premium category, without a token: refused, exit 1.
  CliResult alone = run_cli({"watch", "--url", node_->ws_url(), kPremium}, {"NEWSPUSH_TOKEN="});
  EXPECT_EQ(alone.exit_code, 1) << alone.output;
  EXPECT_THAT(alone.output,
              HasSubstr("refused the subscription: premium-enquetes is for subscribers only"));
}

TEST_F(CliWatchToken, TheTokenCanComeFromTheEnvironment) {
  start();
  const std::string token = mint({"--category", kPremium});
  ChildProcess subscriber(watch({"--count", "1", kPremium}), {"NEWSPUSH_TOKEN=" + token});
  ASSERT_TRUE(subscriber.wait_for_line("subscribed to: premium-enquetes", 15s))
      << subscriber.output();
  publish(redis_, "enq-2", kPremium, "Révélations sur la carrière");
  EXPECT_EQ(subscriber.wait_exit(15s), 0) << subscriber.output();
  EXPECT_THAT(subscriber.output(), HasSubstr("Révélations sur la carrière"));
}

TEST_F(CliWatchToken, ARefusedTokenExitsOneWithTheServersReason) {
  start();
  const std::string forged =
      mint({"--category", "premium-*"}, "another-secret-entirely-0123456789abc");
  CliResult bad = run_cli({"watch", "--url", node_->ws_url(), "--token", forged, kPremium});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("the server refused the token: bad_signature"));

  const std::string expired =
      tokens::make_token({{"alg", "HS256"}, {"typ", "JWT"}},
                         {{"exp", now_seconds() - 10}, {"categories", json::array({"premium-*"})}},
                         tokens::hs256(kSecret));
  CliResult late = run_cli({"watch", "--url", node_->ws_url(), "--token", expired, "sports"});
  EXPECT_EQ(late.exit_code, 1) << late.output;
  EXPECT_THAT(late.output, HasSubstr("the server refused the token: expired"));
}

TEST_F(CliWatchToken, ATokenThatLapsesIsAnnouncedThenStopsThePremiumCategory) {
  start({"--token-expiry-lead", "1"});
  const std::string token = mint({"--category", "premium-*", "--ttl", "3"});
  ChildProcess mixed(watch({"--token", token, kPremium, "sports"}), {"NEWSPUSH_TOKEN="});
  ChildProcess alone(watch({"--token", token, kPremium}), {"NEWSPUSH_TOKEN="});
  ASSERT_TRUE(mixed.wait_for_line("subscribed to: premium-enquetes, sports", 15s))
      << mixed.output();
  EXPECT_TRUE(mixed.wait_for_line("the token expires at", 15s)) << mixed.output();
  ASSERT_TRUE(mixed.wait_for_line("token expired: stopped premium-enquetes", 15s))
      << mixed.output();
  EXPECT_TRUE(mixed.running()) << "public categories carry on\n" << mixed.output();

  // Only subscriber-only categories: closed with 4001, exit 1.
  EXPECT_EQ(alone.wait_exit(15s), 1) << alone.output();
  EXPECT_THAT(alone.output(), HasSubstr("code 4001"));

  publish(redis_, "enq-3", kPremium, "Logements vacants");
  publish(redis_, "spo-2", "sports", "Le derby en prolongation");
  ASSERT_TRUE(mixed.wait_for_line("Le derby en prolongation", 15s)) << mixed.output();
  EXPECT_THAT(mixed.output(), Not(HasSubstr("Logements vacants")));
}

// The demo feed's deck holds five premium-enquetes stories among its 45: one pass publishes each
// once, and only a watch with a token gets them.
TEST_F(CliWatchToken, TheDemoFeedPublishesFivePremiumStoriesPerDeck) {
  start();
  const std::string token = mint({"--category", "premium-*"});
  ChildProcess subscriber(watch({"--token", token, kPremium}), {"NEWSPUSH_TOKEN="});
  ASSERT_TRUE(subscriber.wait_for_line("subscribed to: premium-enquetes", 15s))
      << subscriber.output();
  CliResult feed =
      run_cli({"demo-feed", "--redis", redis_.url(), "--count", "45", "--interval-ms", "0"});
  ASSERT_EQ(feed.exit_code, 0) << feed.output;
  // Then a marker: once it is printed, everything the feed published was.
  publish(redis_, "marker", kPremium, "Fin de la tournée");
  ASSERT_TRUE(subscriber.wait_for_line("Fin de la tournée", 15s)) << subscriber.output();
  std::size_t premium_lines = 0;
  for (const auto& line : subscriber.lines())
    if (line.find("] premium-enquetes ") != std::string::npos) ++premium_lines;
  EXPECT_EQ(premium_lines, 6u) << "five from the feed and the marker\n" << subscriber.output();
}

}  // namespace
}  // namespace newspush::test

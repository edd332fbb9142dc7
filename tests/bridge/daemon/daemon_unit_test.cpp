// The daemon's pure pieces: the flag table, device JSON, what a push service's answer means, the
// rate limiter (driven by a made-up clock).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "bridge/daemon/config.hpp"
#include "bridge/daemon/cors.hpp"
#include "bridge/daemon/device.hpp"
#include "bridge/daemon/rate_limiter.hpp"
#include "bridge/daemon/web_push_provider.hpp"

namespace newspush::bridge {
namespace {

using ::testing::HasSubstr;

ConfigAction parse(std::vector<std::string> args, BridgeConfig& config,
                   std::map<std::string, std::string> env = {}) {
  return parse_bridge_config(
      args,
      [&env](const char* name) -> const char* {
        auto found = env.find(name);
        return found == env.end() ? nullptr : found->second.c_str();
      },
      config);
}

std::string config_error(std::vector<std::string> args) {
  BridgeConfig config;
  try {
    parse(std::move(args), config);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(BridgeConfigTest, FlagsEnvironmentAndDefaults) {
  BridgeConfig config;
  ASSERT_EQ(parse({"--vapid-key", "k.pem", "--listen", "0.0.0.0:9000", "--claim-after", "500ms",
                   "--api-key", "0123456789abcdef"},
                  config, {{"NEWSPUSH_BRIDGE_API_KEYS", "aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb"}}),
            ConfigAction::run);
  EXPECT_EQ(config.listen_host, "0.0.0.0");
  EXPECT_EQ(config.listen_port, 9000);
  EXPECT_EQ(config.claim_after, std::chrono::milliseconds(500));
  EXPECT_EQ(config.api_keys.size(), 3u);
  EXPECT_EQ(config.group, "newspush-bridge");
  EXPECT_THAT(config.consumer, HasSubstr("-"));  // hostname-pid
  EXPECT_EQ(config.redis.port, 6379);
}

TEST(BridgeConfigTest, RatesDefaultToUnlimitedAndTakeFlagsOrVariables) {
  BridgeConfig config;
  ASSERT_EQ(parse({"--vapid-key", "k.pem", "--webpush-rate", "20"}, config,
                  {{"NEWSPUSH_BRIDGE_FCM_RATE", "500"}}),
            ConfigAction::run);
  EXPECT_EQ(config.webpush_rate, 20u);
  EXPECT_EQ(config.fcm_rate, 500u);
  EXPECT_EQ(config.apns_rate, 0u);
  EXPECT_FALSE(config.fcm_topics);
  EXPECT_THAT(config_error({"--vapid-key", "k", "--apns-rate", "-1"}), HasSubstr("--apns-rate"));
  EXPECT_THAT(config_error({"--vapid-key", "k", "--fcm-rate", "fast"}), HasSubstr("--fcm-rate"));
}

TEST(BridgeConfigTest, FcmTopicsIsASwitchThatNeedsFcm) {
  BridgeConfig config;
  ASSERT_EQ(parse({"--fcm-credentials", "f.json", "--fcm-topics"}, config), ConfigAction::run);
  EXPECT_TRUE(config.fcm_topics);
  BridgeConfig off;
  ASSERT_EQ(parse({"--fcm-credentials", "f.json", "--fcm-topics", "false"}, off),
            ConfigAction::run);
  EXPECT_FALSE(off.fcm_topics);
  EXPECT_THAT(config_error({"--vapid-key", "k", "--fcm-topics"}),
              HasSubstr("--fcm-topics: needs --fcm-credentials"));
  EXPECT_THAT(config_error({"--fcm-credentials", "f.json", "--fcm-topics=maybe"}),
              HasSubstr("expected true or false"));
}

TEST(RateLimiterTest, PacesToTheRateWithASmallBurst) {
  using namespace std::chrono_literals;
  RateLimiter::Clock::time_point t0{};
  RateLimiter limiter(20, t0);  // burst: max(1, 20 / 10) = 2
  EXPECT_FALSE(limiter.unlimited());
  EXPECT_TRUE(limiter.try_take(t0));
  EXPECT_TRUE(limiter.try_take(t0));
  EXPECT_FALSE(limiter.try_take(t0));
  auto next = limiter.next_token(t0);
  EXPECT_GE(next - t0, 50ms);
  EXPECT_LT(next - t0, 51ms);
  EXPECT_FALSE(limiter.try_take(t0 + 49ms));
  EXPECT_TRUE(limiter.try_take(next));
  EXPECT_FALSE(limiter.try_take(next));
  // A long idle spell fills the bucket only to its burst, not to a second's worth.
  auto later = t0 + 10s;
  int taken = 0;
  while (limiter.try_take(later)) ++taken;
  EXPECT_EQ(taken, 2);
  // Over a simulated second, woken at each next_token: 20 sends, no more.
  auto now = later;
  int sent = 0;
  while (now < later + 1s) {
    if (limiter.try_take(now))
      ++sent;
    else
      now = limiter.next_token(now);
  }
  EXPECT_GE(sent, 19);
  EXPECT_LE(sent, 21);
}

TEST(RateLimiterTest, ZeroIsUnlimitedAndAClockGoingBackwardsAddsNothing) {
  using namespace std::chrono_literals;
  RateLimiter::Clock::time_point t0{};
  RateLimiter unlimited(0, t0);
  EXPECT_TRUE(unlimited.unlimited());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.try_take(t0));
  EXPECT_EQ(unlimited.next_token(t0), t0);

  RateLimiter one(1, t0 + 5s);
  EXPECT_TRUE(one.try_take(t0 + 5s));
  EXPECT_FALSE(one.try_take(t0));  // earlier than its last look: no refill
  EXPECT_FALSE(one.try_take(t0 + 5s + 999ms));
  EXPECT_TRUE(one.try_take(one.next_token(t0 + 5s + 999ms)));
}

TEST(BridgeConfigTest, ErrorsAreOneLineAndSecretsAreNotRepeated) {
  EXPECT_THAT(config_error({"--nope"}), HasSubstr("unknown option '--nope'"));
  EXPECT_THAT(config_error({}), HasSubstr("no provider credentials"));
  EXPECT_THAT(config_error({"--vapid-key", "k", "--apns-key", "a.p8"}), HasSubstr("--apns-key-id"));
  std::string short_key = config_error({"--vapid-key", "k", "--api-key", "secret"});
  EXPECT_THAT(short_key, HasSubstr("at least 16"));
  EXPECT_THAT(short_key, ::testing::Not(HasSubstr("secret'")));
  EXPECT_THAT(config_error({"--vapid-key", "k", "--claim-after", "never"}),
              HasSubstr("--claim-after"));
  EXPECT_THAT(config_error({"--vapid-key", "k", "--redis-master", "m"}),
              HasSubstr("--redis-sentinel"));
  EXPECT_THAT(config_error({"--vapid-key"}), HasSubstr("missing value"));
  for (const auto& args : std::vector<std::vector<std::string>>{{"--nope"}, {}, {"--listen", "x"}})
    EXPECT_EQ(config_error(args).find('\n'), std::string::npos);
}

TEST(BridgeConfigTest, HelpListsEveryFlagWithItsVariable) {
  std::string help = bridge_help_text();
  for (const char* flag : {"--redis URL", "--listen HOST:PORT", "--api-key KEY", "--claim-after",
                           "--fcm-credentials", "--apns-key-id", "--vapid-key", "--provider-ca",
                           "--fcm-endpoint", "--apns-endpoint", "NEWSPUSH_BRIDGE_API_KEYS"})
    EXPECT_THAT(help, HasSubstr(flag));
}

TEST(BridgeConfigTest, CorsOriginsAreOriginsOnly) {
  BridgeConfig config;
  parse({"--vapid-key", "k", "--cors-origin", "http://127.0.0.1:8080"}, config,
        {{"NEWSPUSH_BRIDGE_CORS_ORIGINS", "https://news.example.org,http://localhost:3000"}});
  EXPECT_EQ(config.cors_origins,
            (std::vector<std::string>{"https://news.example.org", "http://localhost:3000",
                                      "http://127.0.0.1:8080"}));
  for (const char* bad :
       {"*", "127.0.0.1:8080", "http://", "https://x.org/page", "ftp://x.org", "http://a b"})
    EXPECT_THAT(config_error({"--vapid-key", "k", "--cors-origin", bad}),
                HasSubstr("--cors-origin: invalid value"))
        << bad;
  EXPECT_THAT(bridge_help_text(), HasSubstr("NEWSPUSH_BRIDGE_CORS_ORIGINS"));
}

// What the handler behind with_cors saw, and what came back.
struct CorsExchange {
  int calls = 0;
  ApiResponse response;
};

CorsExchange cors_exchange(std::vector<std::string> origins, ApiRequest request) {
  CorsExchange exchange;
  auto handler = with_cors(std::move(origins), [&exchange](ApiRequest, auto respond) {
    ++exchange.calls;
    respond(ApiResponse{401, "application/json", R"({"error":"unauthorized"})"});
  });
  handler(std::move(request), [&exchange](ApiResponse r) { exchange.response = std::move(r); });
  return exchange;
}

std::string header(const ApiResponse& response, const std::string& name) {
  for (const auto& [n, v] : response.headers)
    if (n == name) return v;
  return "";
}

TEST(CorsTest, PreflightFromAnAllowedOriginIsAnsweredBeforeTheKey) {
  auto preflight = cors_exchange({"http://127.0.0.1:8080"}, {"OPTIONS", "/api/v1/devices/web-1", "",
                                                             "", "http://127.0.0.1:8080"});
  EXPECT_EQ(preflight.calls, 0);
  EXPECT_EQ(preflight.response.status, 204);
  EXPECT_EQ(header(preflight.response, "Access-Control-Allow-Origin"), "http://127.0.0.1:8080");
  EXPECT_THAT(header(preflight.response, "Access-Control-Allow-Methods"), HasSubstr("PUT"));
  EXPECT_THAT(header(preflight.response, "Access-Control-Allow-Headers"),
              HasSubstr("Authorization"));

  auto put = cors_exchange({"http://127.0.0.1:8080"}, {"PUT", "/api/v1/devices/web-1", "Bearer x",
                                                       "{}", "http://127.0.0.1:8080"});
  EXPECT_EQ(put.calls, 1);
  EXPECT_EQ(put.response.status, 401);  // the key is still checked
  EXPECT_EQ(header(put.response, "Access-Control-Allow-Origin"), "http://127.0.0.1:8080");
}

TEST(CorsTest, OtherOriginsAndNoFlagPassUnchanged) {
  for (auto origins : std::vector<std::vector<std::string>>{{}, {"http://127.0.0.1:8080"}}) {
    auto other =
        cors_exchange(origins, {"OPTIONS", "/api/v1/devices/web-1", "", "", "http://evil.example"});
    EXPECT_EQ(other.calls, 1);
    EXPECT_EQ(other.response.status, 401);
    EXPECT_TRUE(other.response.headers.empty());
    auto none = cors_exchange(origins, {"GET", "/healthz", "", "", ""});
    EXPECT_EQ(none.calls, 1);
    EXPECT_TRUE(none.response.headers.empty());
  }
}

TEST(DeviceTest, ParsesAndRendersEachPlatform) {
  auto fcm = parse_device(
      "d1",
      R"({"platform":"fcm","token":"t","categories":["sport","sport","*"],"breaking":true,"locale":"fr"})",
      false);
  ASSERT_TRUE(fcm.device) << fcm.error;
  EXPECT_EQ(fcm.device->categories, (std::vector<std::string>{"sport", "*"}));
  EXPECT_TRUE(fcm.device->breaking);
  auto rendered = nlohmann::json::parse(device_to_json(*fcm.device));
  EXPECT_EQ(rendered["token"], "t");
  EXPECT_EQ(rendered["locale"], "fr");
  EXPECT_EQ(parse_device("d1", R"({"platform":"fcm","token":""})", false).error, "bad_token");
  EXPECT_EQ(parse_device("d/1", R"({"platform":"fcm","token":"t"})", false).error, "bad_device_id");
  EXPECT_EQ(parse_device("d1", R"([1])", false).error, "bad_json");
  EXPECT_EQ(parse_device("d1", R"({"platform":"fcm","token":"t","locale":5})", false).error,
            "bad_locale");
}

TEST(WebPushAnswerTest, StatusesMapToOutcomes) {
  auto outcome = [](int status, std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpResponse response;
    response.status = status;
    response.headers = std::move(headers);
    return classify_web_push_answer(response);
  };
  EXPECT_EQ(outcome(201).outcome, SendOutcome::accepted);
  EXPECT_EQ(outcome(202).outcome, SendOutcome::accepted);
  EXPECT_EQ(outcome(404).outcome, SendOutcome::dead_token);
  EXPECT_EQ(outcome(410).outcome, SendOutcome::dead_token);
  auto limited = outcome(429, {{"retry-after", "7"}});
  EXPECT_EQ(limited.outcome, SendOutcome::retry);
  ASSERT_TRUE(limited.retry_after);
  EXPECT_EQ(*limited.retry_after, std::chrono::seconds(7));
  EXPECT_EQ(outcome(503).outcome, SendOutcome::retry);
  EXPECT_EQ(outcome(0).outcome, SendOutcome::retry);
  EXPECT_EQ(outcome(400).outcome, SendOutcome::rejected);
  EXPECT_EQ(outcome(413).outcome, SendOutcome::rejected);
}

}  // namespace
}  // namespace newspush::bridge

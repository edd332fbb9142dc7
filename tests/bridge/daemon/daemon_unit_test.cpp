// The daemon's pure pieces: the flag table, device JSON, what a push service's answer means.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "bridge/daemon/config.hpp"
#include "bridge/daemon/device.hpp"
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

#include "bridge/push/subscription.hpp"

#include <gtest/gtest.h>

namespace newspush::bridge {
namespace {

constexpr std::string_view kP256dh =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view kAuth = "BTBZMqHH6r4Tts7J_aSIgg";

std::string subscription(std::string_view endpoint, std::string_view p256dh = kP256dh,
                         std::string_view auth = kAuth) {
  return R"({"endpoint":")" + std::string(endpoint) +
         R"(","expirationTime":null,"keys":{"p256dh":")" + std::string(p256dh) + R"(","auth":")" +
         std::string(auth) + R"("}})";
}

TEST(Subscription, ParsesWhatABrowserGives) {
  auto parsed = parse_subscription(subscription("https://fcm.googleapis.com/fcm/send/abc:APA91b"));
  ASSERT_TRUE(parsed.ok()) << to_string(parsed.error);
  const auto& s = *parsed.subscription;
  EXPECT_EQ(s.endpoint, "https://fcm.googleapis.com/fcm/send/abc:APA91b");
  EXPECT_EQ(s.url.origin, "https://fcm.googleapis.com");
  EXPECT_EQ(s.keys.public_key.bytes().size(), 65u);
  EXPECT_EQ(s.keys.auth_secret.size(), 16u);
  EXPECT_EQ(s.p256dh, kP256dh);
  EXPECT_EQ(s.auth, kAuth);
}

TEST(Subscription, IgnoresUnknownMembersAndAcceptsANumericExpiration) {
  std::string json = R"({"endpoint":"https://push.example/x","expirationTime":1795890100477,)"
                     R"("keys":{"p256dh":")" +
                     std::string(kP256dh) + R"(","auth":")" + std::string(kAuth) +
                     R"(","extra":1},"future":[1,2]})";
  EXPECT_TRUE(parse_subscription(json).ok());
}

TEST(Subscription, HttpOnlyWhenThePolicyAllowsIt) {
  std::string json = subscription("http://127.0.0.1:39001/push/1");
  EXPECT_EQ(parse_subscription(json).error, SubscriptionError::insecure_endpoint);
  EXPECT_TRUE(parse_subscription(json, SubscriptionPolicy{.allow_http = true}).ok());
}

TEST(Subscription, RefusesBadInputWithItsReason) {
  auto error_of = [](std::string_view json) { return parse_subscription(json).error; };
  EXPECT_EQ(error_of("{"), SubscriptionError::not_json);
  EXPECT_EQ(error_of(std::string(100, '[') + std::string(100, ']')), SubscriptionError::not_json);
  EXPECT_EQ(error_of("[]"), SubscriptionError::not_object);
  EXPECT_EQ(error_of(R"({"keys":{}})"), SubscriptionError::bad_endpoint);
  EXPECT_EQ(error_of(R"({"endpoint":42})"), SubscriptionError::bad_endpoint);
  EXPECT_EQ(error_of(subscription("javascript:alert(1)")), SubscriptionError::bad_endpoint);
  EXPECT_EQ(error_of(R"({"endpoint":"https://push.example/x"})"), SubscriptionError::bad_keys);
  EXPECT_EQ(error_of(R"({"endpoint":"https://push.example/x","keys":{"p256dh":1,"auth":"x"}})"),
            SubscriptionError::bad_keys);
  EXPECT_EQ(error_of(R"({"endpoint":"https://push.example/x","expirationTime":"soon","keys":{}})"),
            SubscriptionError::bad_expiration_time);
  EXPECT_EQ(error_of(subscription("https://push.example/x", "AAAA")),
            SubscriptionError::bad_p256dh);
  EXPECT_EQ(parse_subscription(subscription("https://push.example/x", "AAAA")).key_error,
            KeyError::bad_length);
  EXPECT_EQ(error_of(subscription("https://push.example/x", kP256dh, "AAAA")),
            SubscriptionError::bad_auth);
  EXPECT_EQ(
      error_of(subscription("https://push.example/" + std::string(kMaxSubscriptionJsonBytes, 'a'))),
      SubscriptionError::too_large);
}

}  // namespace
}  // namespace newspush::bridge

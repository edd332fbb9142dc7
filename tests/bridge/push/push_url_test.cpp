#include "bridge/push/push_url.hpp"

#include <gtest/gtest.h>

namespace newspush::bridge {
namespace {

std::string origin_of(std::string_view url) {
  auto parsed = parse_push_url(url);
  return parsed ? parsed->origin : "(refused)";
}

TEST(PushUrl, OriginOfRealEndpoints) {
  EXPECT_EQ(origin_of("https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b"),
            "https://fcm.googleapis.com");
  EXPECT_EQ(origin_of("https://updates.push.services.mozilla.com/wpush/v2/gAAAA"),
            "https://updates.push.services.mozilla.com");
  EXPECT_EQ(origin_of("https://web.push.apple.com/QGuQyavXutnMH6Ig2uYOJDwA"),
            "https://web.push.apple.com");
}

TEST(PushUrl, OriginKeepsOnlyANonDefaultPort) {
  EXPECT_EQ(origin_of("https://Push.Example:443/x"), "https://push.example");
  EXPECT_EQ(origin_of("https://push.example:8443/x"), "https://push.example:8443");
  EXPECT_EQ(origin_of("http://127.0.0.1:39001/push/abc"), "http://127.0.0.1:39001");
  EXPECT_EQ(origin_of("http://127.0.0.1:80/push"), "http://127.0.0.1");
  EXPECT_EQ(origin_of("https://[::1]:9443/push"), "https://[::1]:9443");
  EXPECT_EQ(origin_of("HTTPS://push.example?q"), "https://push.example");
}

TEST(PushUrl, RefusesWhatIsNotAnAbsoluteHttpUrl) {
  for (std::string_view url :
       {"", "push.example/x", "ftp://push.example/", "https://", "https:///path",
        "https://user@push.example/", "https://push.example:0/", "https://push.example:65536/",
        "https://push.example:/", "https://push.example:8a/", "https://push example/",
        "https://push.example/a b", "https://push\x01.example/", "https://[::1/", "https://[]/",
        "https://pu_sh.example/", "https://push.example\xc3\xa9/"}) {
    EXPECT_FALSE(parse_push_url(url)) << url;
  }
  EXPECT_FALSE(parse_push_url("https://push.example/" + std::string(kMaxEndpointBytes, 'a')));
}

}  // namespace
}  // namespace newspush::bridge

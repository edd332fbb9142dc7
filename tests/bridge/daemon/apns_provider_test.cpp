// ApnsProvider against the fake APNs (tests/bridge/fakes/fake_apns.cjs): HTTP/2 over TLS with a
// test CA given as the extra CA, the provider token checked by the fake (signature, kid, iss,
// iat, the 20-minute rule), many streams on few connections, and every classification.
#include "bridge/daemon/apns_provider.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/bridge/daemon/node_server.hpp"
#include "tests/bridge/daemon/test_pki.hpp"

namespace newspush::test {
namespace {

using namespace newspush::bridge;
namespace fs = std::filesystem;

constexpr auto kBound = std::chrono::seconds(30);
constexpr const char* kKeyId = "KEY1234567";
constexpr const char* kTeamId = "TEAM123456";
constexpr const char* kTopic = "fr.exemple.news";

ArticleNotification article(std::string id, bool breaking = false) {
  ArticleNotification a;
  a.id = std::move(id);
  a.category = "monde";
  a.breaking = breaking;
  a.title = "Séisme au large du Japon";
  a.body = "Une alerte au tsunami a été levée.";
  a.url = "https://exemple.fr/monde/12";
  return a;
}

DeviceTarget device(std::string token) {
  DeviceTarget d;
  d.device_id = "device-" + token;
  d.platform = Platform::apns;
  d.token = std::move(token);
  return d;
}

class ApnsProviderTest : public ::testing::Test {
 protected:
  ApnsProviderTest() {
    const std::string d = pki_.dir.string();
    std::string cmd = "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d +
                      "/apns.p8 && openssl pkey -in " + d + "/apns.p8 -pubout -out " + d +
                      "/apns.pub";
    if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0)
      throw std::runtime_error("openssl could not make the .p8 key");
  }

  void start(std::vector<std::string> fake_flags = {}, ApnsProviderOptions options = {},
             long max_connections = 2) {
    const std::string d = pki_.dir.string();
    std::vector<std::string> flags = {"--cert",       pki_.server_cert.string(),
                                      "--key",        pki_.server_key.string(),
                                      "--public-key", d + "/apns.pub",
                                      "--key-id",     kKeyId,
                                      "--team-id",    kTeamId,
                                      "--topic",      kTopic};
    flags.insert(flags.end(), fake_flags.begin(), fake_flags.end());
    fake_ = std::make_unique<NodeServer>(FAKE_APNS_CJS, flags);
    HttpClientOptions http_options;
    http_options.extra_ca_file = pki_.ca_cert.string();
    http_options.max_connections_per_host = max_connections;
    http_ = std::make_unique<HttpClient>(io_.get_executor(), http_options);
    options.endpoint = "https://127.0.0.1:" + std::to_string(fake_->port("h2"));
    options.topic = kTopic;
    provider_ = std::make_unique<ApnsProvider>(
        io_.get_executor(), *http_,
        ApnsTokenSigner::from_p8(read_file(pki_.dir / "apns.p8"), kKeyId, kTeamId), options);
  }

  SendResult send(const std::string& token, bool breaking = false) {
    std::optional<SendResult> result;
    provider_->send(article("monde-12", breaking), device(token),
                    [&](SendResult r) { result = std::move(r); });
    EXPECT_TRUE(run_until(
        io_, [&] { return result.has_value(); }, kBound));
    return result.value_or(SendResult{});
  }

  nlohmann::json stats() {
    HttpRequest request;
    request.method = "GET";
    request.url = "http://127.0.0.1:" + std::to_string(fake_->port("admin")) + "/__stats";
    std::optional<HttpResponse> answer;
    http_->perform(request, [&](HttpResponse r) { answer = std::move(r); });
    EXPECT_TRUE(run_until(
        io_, [&] { return answer.has_value(); }, kBound));
    return nlohmann::json::parse(answer ? answer->body : "{}");
  }

  TestPki pki_;
  boost::asio::io_context io_;
  std::unique_ptr<NodeServer> fake_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<ApnsProvider> provider_;
};

TEST_F(ApnsProviderTest, AnAcceptedNotificationIsWhatThePhoneShows) {
  start();
  auto before = std::chrono::system_clock::now();
  SendResult result = send("phone1", /*breaking=*/true);
  EXPECT_EQ(result.outcome, SendOutcome::accepted) << result.reason;
  EXPECT_EQ(result.http_status, 200);
  ASSERT_TRUE(fake_->process().wait_for_line("notify apns token=phone1", kBound));
  EXPECT_EQ(send("phone2", /*breaking=*/false).outcome, SendOutcome::accepted);
  auto s = stats();
  EXPECT_EQ(s["refusals"].size(), 0u);
  ASSERT_EQ(s["notifications"].size(), 2u);
  const auto& shown = s["notifications"][0];
  EXPECT_EQ(shown["title"], "Séisme au large du Japon");
  EXPECT_EQ(shown["body"], "Une alerte au tsunami a été levée.");
  EXPECT_EQ(shown["priority"], "10");
  EXPECT_EQ(shown["collapseId"], "monde-12");
  EXPECT_EQ(shown["topic"], kTopic);
  EXPECT_EQ(shown["pushType"], "alert");
  EXPECT_EQ(shown["threadId"], "monde");
  EXPECT_EQ(shown["articleId"], "monde-12");
  auto day_later = std::chrono::duration_cast<std::chrono::seconds>(
                       (before + std::chrono::hours(24)).time_since_epoch())
                       .count();
  EXPECT_NEAR(shown["expiration"].get<double>(), static_cast<double>(day_later), 60);
  EXPECT_EQ(s["notifications"][1]["priority"], "5");
  EXPECT_EQ(s["providerTokens"], 1);
}

TEST_F(ApnsProviderTest, TwoHundredConcurrentSendsShareTwoConnections) {
  start({"--slow-ms", "300"});
  constexpr int kSends = 200;
  int accepted = 0;
  int answered = 0;
  for (int i = 0; i < kSends; ++i)
    provider_->send(article("monde-" + std::to_string(i)), device("slow-" + std::to_string(i)),
                    [&](SendResult r) {
                      ++answered;
                      accepted += r.outcome == SendOutcome::accepted;
                    });
  ASSERT_TRUE(run_until(
      io_, [&] { return answered == kSends; }, kBound));
  EXPECT_EQ(accepted, kSends);
  auto s = stats();
  EXPECT_LE(s["connections"].get<int>(), 2);
  EXPECT_GT(s["maxStreamsPerConnection"].get<int>(), 1);
  EXPECT_EQ(s["accepted"], kSends);
  EXPECT_EQ(s["providerTokens"], 1);
  EXPECT_EQ(provider_->provider_tokens_made(), 1u);
}

TEST_F(ApnsProviderTest, UnregisteredAndBadDeviceTokenAreDeadTokens) {
  start();
  SendResult result = send("dead-1");
  EXPECT_EQ(result.outcome, SendOutcome::dead_token);
  EXPECT_EQ(result.http_status, 410);
  EXPECT_EQ(result.reason, "Unregistered");
  result = send("bad-1");
  EXPECT_EQ(result.outcome, SendOutcome::dead_token);
  EXPECT_EQ(result.http_status, 400);
  EXPECT_EQ(result.reason, "BadDeviceToken");
}

TEST_F(ApnsProviderTest, OtherRefusalsAreRejectedWithTheReason) {
  start();
  SendResult result = send("topic-1");
  EXPECT_EQ(result.outcome, SendOutcome::rejected);
  EXPECT_EQ(result.http_status, 400);
  EXPECT_EQ(result.reason, "DeviceTokenNotForTopic");
  // A token no URL path can carry never leaves the bridge.
  result = send("not/a token");
  EXPECT_EQ(result.outcome, SendOutcome::rejected);
  EXPECT_EQ(result.reason, "bad token");
  EXPECT_EQ(stats()["requests"], 1);
}

TEST_F(ApnsProviderTest, BusyAndUnavailableAreRetried) {
  start({"--flaky-failures", "1"});
  SendResult result = send("flaky-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.reason, "ServiceUnavailable");
  EXPECT_EQ(result.retry_after, std::chrono::milliseconds(1000));
  EXPECT_EQ(send("flaky-1").outcome, SendOutcome::accepted);
  result = send("quota-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 429);
  EXPECT_EQ(result.reason, "TooManyRequests");
}

TEST_F(ApnsProviderTest, TimeoutsAndDroppedConnectionsAreRetried) {
  ApnsProviderOptions options;
  options.request_timeout = std::chrono::milliseconds(500);
  start({}, options);
  SendResult result = send("hang-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_EQ(result.reason, "timeout");
  result = send("drop-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 0);
  result = send("phone1");
  EXPECT_EQ(result.outcome, SendOutcome::accepted) << result.reason << "\n"
                                                   << fake_->process().output();
}

TEST_F(ApnsProviderTest, ExpiredProviderTokenDoesNotChangeAYoungToken) {
  start();
  EXPECT_EQ(send("phone1").outcome, SendOutcome::accepted);
  SendResult result = send("expired-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 403);
  EXPECT_EQ(result.reason, "ExpiredProviderToken");
  EXPECT_EQ(provider_->provider_tokens_made(), 1u);
  auto s = stats();
  EXPECT_EQ(s["providerTokens"], 1);
  EXPECT_EQ(s["tooManyTokenUpdates"], 0);
}

TEST_F(ApnsProviderTest, TheProviderTokenIsReplacedWhenDueAndNeverSooner) {
  // Shortened clocks: replaced after 1 s, and the fake refuses a change within 0.9 s.
  ApnsProviderOptions options;
  options.token_refresh_interval = std::chrono::seconds(1);
  options.min_token_interval = std::chrono::seconds(1);
  start({"--min-token-interval-ms", "900"}, options);
  EXPECT_EQ(send("phone1").outcome, SendOutcome::accepted);
  EXPECT_EQ(send("phone2").outcome, SendOutcome::accepted);
  EXPECT_EQ(provider_->provider_tokens_made(), 1u);
  // The token's age is the event waited for here.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(send("phone3").outcome, SendOutcome::accepted);
  EXPECT_EQ(provider_->provider_tokens_made(), 2u);
  auto s = stats();
  EXPECT_EQ(s["providerTokens"], 2);
  EXPECT_EQ(s["tooManyTokenUpdates"], 0);
  EXPECT_EQ(s["refusals"].size(), 0u);
}

TEST_F(ApnsProviderTest, ExpiredProviderTokenRenewsAnOldEnoughTokenOnce) {
  // Not yet due (40 minutes) but older than the shortened 1-second minimum.
  ApnsProviderOptions options;
  options.min_token_interval = std::chrono::seconds(1);
  start({"--min-token-interval-ms", "900"}, options);
  EXPECT_EQ(send("phone1").outcome, SendOutcome::accepted);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the token's age
  // One new token, one more try, which the fake refuses again for this device token.
  SendResult result = send("expired-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.reason, "ExpiredProviderToken");
  EXPECT_EQ(provider_->provider_tokens_made(), 2u);
  auto s = stats();
  EXPECT_EQ(s["providerTokens"], 2);
  EXPECT_EQ(s["tooManyTokenUpdates"], 0);
  EXPECT_EQ(s["byToken"]["expired-1"], 2);
}

TEST_F(ApnsProviderTest, AProviderTokenSignedWithAnotherKeyIsRefused) {
  start();
  const std::string other = (pki_.dir / "other.p8").string();
  ASSERT_EQ(std::system(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
                         other + " >/dev/null 2>&1")
                            .c_str()),
            0);
  ApnsProviderOptions options;
  options.endpoint = "https://127.0.0.1:" + std::to_string(fake_->port("h2"));
  options.topic = kTopic;
  provider_ = std::make_unique<ApnsProvider>(
      io_.get_executor(), *http_, ApnsTokenSigner::from_p8(read_file(other), kKeyId, kTeamId),
      options);
  SendResult result = send("phone1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 403);
  EXPECT_EQ(result.reason, "InvalidProviderToken");
  EXPECT_EQ(stats()["accepted"], 0);
}

TEST_F(ApnsProviderTest, ALongArticleIsShortenedToFit) {
  start();
  ArticleNotification long_article = article("monde-13");
  for (int i = 0; i < 400; ++i) long_article.body += " La vague a été moins haute que prévu.";
  std::optional<SendResult> result;
  provider_->send(long_article, device("phone1"), [&](SendResult r) { result = r; });
  ASSERT_TRUE(run_until(
      io_, [&] { return result.has_value(); }, kBound));
  EXPECT_EQ(result->outcome, SendOutcome::accepted) << result->reason;
  auto s = stats();
  EXPECT_EQ(s["refusals"].size(), 0u);  // the fake checks the 4096-byte limit
  std::string body = s["notifications"][0]["body"];
  EXPECT_LT(body.size(), long_article.body.size());
  EXPECT_TRUE(body.ends_with("…")) << body;
}

TEST_F(ApnsProviderTest, StopRefusesNewSendsAndLetsThoseInFlightFinish) {
  start({"--slow-ms", "500"});
  std::optional<SendResult> slow;
  provider_->send(article("monde-12"), device("slow-1"), [&](SendResult r) { slow = r; });
  provider_->stop();
  EXPECT_EQ(provider_->capacity(), 0u);
  std::optional<SendResult> late;
  provider_->send(article("monde-12"), device("phone1"), [&](SendResult r) { late = r; });
  EXPECT_FALSE(late.has_value());
  ASSERT_TRUE(run_until(
      io_, [&] { return slow && late; }, kBound));
  EXPECT_EQ(slow->outcome, SendOutcome::accepted);
  EXPECT_EQ(late->outcome, SendOutcome::retry);
  EXPECT_EQ(late->reason, "stopping");
}

TEST_F(ApnsProviderTest, SharedTokensAreAskedForNeverSignedAndARefusedChangeIsRereadAndRetried) {
  start();
  std::vector<ApnsProvider::TokenWant> wants;
  provider_->share_tokens([&](ApnsProvider::TokenWant why) { wants.push_back(why); });
  // No token yet: asked for, and the send waits as a retry.
  SendResult waiting = send("phone1");
  EXPECT_EQ(waiting.outcome, SendOutcome::retry);
  EXPECT_EQ(waiting.reason, "provider token: waiting for the shared one");
  EXPECT_GE(waiting.retry_after.value_or(std::chrono::milliseconds(0)), std::chrono::seconds(1));
  ASSERT_FALSE(wants.empty());
  EXPECT_EQ(wants.back(), ApnsProvider::TokenWant::missing_or_due);

  auto signer = ApnsTokenSigner::from_p8(read_file(pki_.dir / "apns.p8"), kKeyId, kTeamId);
  auto now = std::chrono::system_clock::now();
  auto first = signer.provider_token(now - std::chrono::seconds(5));
  auto second = signer.provider_token(now);
  ASSERT_TRUE(first && second);
  ASSERT_NE(*first, *second);
  provider_->set_shared_token(*first, now - std::chrono::seconds(5));
  wants.clear();
  EXPECT_EQ(send("phone1").outcome, SendOutcome::accepted);
  EXPECT_TRUE(wants.empty());  // fresh: nothing asked

  // Another token within the fake's 20 minutes (as if some process had signed its own): 429,
  // the shared token is asked for again, the send is a retry after at least a second.
  provider_->set_shared_token(*second, now);
  SendResult refused = send("phone2");
  EXPECT_EQ(refused.outcome, SendOutcome::retry);
  EXPECT_EQ(refused.reason, "TooManyProviderTokenUpdates");
  EXPECT_GE(refused.retry_after.value_or(std::chrono::milliseconds(0)), std::chrono::seconds(1));
  ASSERT_EQ(wants.size(), 1u);
  EXPECT_EQ(wants.back(), ApnsProvider::TokenWant::refused_change);
  provider_->set_shared_token(*first, now - std::chrono::seconds(5));
  EXPECT_EQ(send("phone2").outcome, SendOutcome::accepted);
  EXPECT_EQ(provider_->provider_tokens_made(), 0u);
  auto s = stats();
  EXPECT_EQ(s["providerTokens"], 1);
  EXPECT_EQ(s["tooManyTokenUpdates"], 1);
}

}  // namespace
}  // namespace newspush::test

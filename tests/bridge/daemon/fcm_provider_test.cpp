// FcmProvider against the fake FCM (tests/bridge/fakes/fake_fcm.cjs) on loopback: the token
// exchange (signature and claims checked by the fake), token caching and renewal, and every
// classification of an answer.
#include "bridge/daemon/fcm_provider.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "bridge/daemon/retry_after.hpp"
#include "tests/bridge/daemon/node_server.hpp"
#include "tests/bridge/daemon/test_pki.hpp"
#include "tests/support/redis_server.hpp"

namespace newspush::test {
namespace {

using namespace newspush::bridge;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;

constexpr auto kBound = std::chrono::seconds(30);
constexpr const char* kClientEmail = "bridge@exemple-news.iam.gserviceaccount.com";

// The service account's RSA key, made once for the suite by the openssl command.
struct RsaKeyFiles {
  fs::path dir = make_temp_dir("newspush-fcm-keys");
  fs::path private_pem = dir / "key.pem";
  fs::path public_pem = dir / "pub.pem";
  RsaKeyFiles() {
    std::string cmd = "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                      private_pem.string() + " && openssl pkey -in " + private_pem.string() +
                      " -pubout -out " + public_pem.string();
    if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0)
      throw std::runtime_error("openssl could not make the RSA key");
  }
  ~RsaKeyFiles() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

ArticleNotification article(std::string id, bool breaking = false) {
  ArticleNotification a;
  a.id = std::move(id);
  a.category = "economie";
  a.breaking = breaking;
  a.title = "L’inflation ralentit en avril";
  a.body = "Les prix ont progressé de 2,2 % sur un an.";
  a.url = "https://exemple.fr/eco/77";
  return a;
}

DeviceTarget device(std::string token) {
  DeviceTarget d;
  d.device_id = "device-" + token;
  d.platform = Platform::fcm;
  d.token = std::move(token);
  return d;
}

class FcmProviderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { keys_ = new RsaKeyFiles(); }
  static void TearDownTestSuite() {
    delete keys_;
    keys_ = nullptr;
  }

  // Starts the fake (extra flags for it) and a provider pointed at it.
  void start(std::vector<std::string> fake_flags = {}, FcmProviderOptions options = {},
             std::string client_email = kClientEmail) {
    std::vector<std::string> flags = {"--public-key",   keys_->public_pem.string(),
                                      "--client-email", kClientEmail,
                                      "--project-id",   "exemple-news"};
    flags.insert(flags.end(), fake_flags.begin(), fake_flags.end());
    fake_ = std::make_unique<NodeServer>(FAKE_FCM_CJS, flags);
    base_ = "http://127.0.0.1:" + std::to_string(fake_->port("http"));
    nlohmann::json account = {
        {"type", "service_account"},    {"project_id", "exemple-news"},
        {"private_key_id", "k1"},       {"private_key", read_file(keys_->private_pem)},
        {"client_email", client_email}, {"token_uri", base_ + "/token"}};
    options.endpoint = base_;
    provider_ = std::make_unique<FcmProvider>(io_.get_executor(), http_,
                                              FcmServiceAccount::parse(account.dump()), options);
  }

  SendResult send(const std::string& token, bool breaking = false) {
    std::optional<SendResult> result;
    provider_->send(article("eco-77", breaking), device(token),
                    [&](SendResult r) { result = std::move(r); });
    EXPECT_TRUE(run_until(
        io_, [&] { return result.has_value(); }, kBound));
    return result.value_or(SendResult{});
  }

  HttpResponse call(const std::string& method, const std::string& path) {
    HttpRequest request;
    request.method = method;
    request.url = base_ + path;
    std::optional<HttpResponse> answer;
    http_.perform(request, [&](HttpResponse r) { answer = std::move(r); });
    EXPECT_TRUE(run_until(
        io_, [&] { return answer.has_value(); }, kBound));
    return answer.value_or(HttpResponse{});
  }

  nlohmann::json stats() { return nlohmann::json::parse(call("GET", "/__stats").body); }

  static RsaKeyFiles* keys_;
  boost::asio::io_context io_;
  HttpClient http_{io_.get_executor(), {}};
  std::unique_ptr<NodeServer> fake_;
  std::string base_;
  std::unique_ptr<FcmProvider> provider_;
};

RsaKeyFiles* FcmProviderTest::keys_ = nullptr;

TEST_F(FcmProviderTest, AnAcceptedMessageIsWhatThePhoneShows) {
  start();
  SendResult result = send("phone-1", /*breaking=*/true);
  EXPECT_EQ(result.outcome, SendOutcome::accepted) << result.reason;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_GT(result.latency.count(), 0);
  ASSERT_TRUE(fake_->process().wait_for_line("notify fcm token=phone-1", kBound));
  auto s = stats();
  ASSERT_EQ(s["notifications"].size(), 1u);
  const auto& shown = s["notifications"][0];
  EXPECT_EQ(shown["title"], "L’inflation ralentit en avril");
  EXPECT_EQ(shown["body"], "Les prix ont progressé de 2,2 % sur un an.");
  EXPECT_EQ(shown["collapse_key"], "eco-77");
  EXPECT_EQ(shown["priority"], "high");
  EXPECT_EQ(shown["data"]["article_id"], "eco-77");
  EXPECT_EQ(s["tokenRefusals"].size(), 0u);
  EXPECT_EQ(s["invalid"].size(), 0u);
}

TEST_F(FcmProviderTest, OneTokenRequestServesManySends) {
  start();
  constexpr int kSends = 50;
  int accepted = 0;
  int answered = 0;
  for (int i = 0; i < kSends; ++i)
    provider_->send(article("eco-" + std::to_string(i)), device("phone-" + std::to_string(i)),
                    [&](SendResult r) {
                      ++answered;
                      accepted += r.outcome == SendOutcome::accepted;
                    });
  ASSERT_TRUE(run_until(
      io_, [&] { return answered == kSends; }, kBound));
  EXPECT_EQ(accepted, kSends);
  EXPECT_EQ(send("phone-again").outcome, SendOutcome::accepted);
  EXPECT_EQ(provider_->token_requests(), 1u);
  auto s = stats();
  EXPECT_EQ(s["tokenRequests"], 1);
  EXPECT_EQ(s["accepted"], kSends + 1);
}

TEST_F(FcmProviderTest, ATokenNearItsExpiryIsReplaced) {
  // A 2-second token is replaced after one second (half its life: the 5-minute margin is more).
  start({"--token-lifetime", "2"});
  EXPECT_EQ(send("phone-1").outcome, SendOutcome::accepted);
  EXPECT_EQ(send("phone-2").outcome, SendOutcome::accepted);
  EXPECT_EQ(provider_->token_requests(), 1u);
  // The token's age is the event waited for here.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(send("phone-3").outcome, SendOutcome::accepted);
  EXPECT_EQ(provider_->token_requests(), 2u);
  EXPECT_EQ(stats()["unauthorized"], 0);
}

TEST_F(FcmProviderTest, A401RenewsTheTokenOnceAndSendsAgain) {
  start();
  EXPECT_EQ(send("phone-1").outcome, SendOutcome::accepted);
  EXPECT_EQ(call("POST", "/__revoke").status, 200);
  SendResult result = send("phone-2");
  EXPECT_EQ(result.outcome, SendOutcome::accepted) << result.reason;
  EXPECT_EQ(provider_->token_requests(), 2u);
  auto s = stats();
  EXPECT_EQ(s["unauthorized"], 1);
  EXPECT_EQ(s["byToken"]["phone-2"], 1);  // counted once: the refused try is not a message
}

TEST_F(FcmProviderTest, UnregisteredIsADeadToken) {
  start();
  SendResult result = send("dead-1");
  EXPECT_EQ(result.outcome, SendOutcome::dead_token);
  EXPECT_EQ(result.http_status, 404);
  EXPECT_EQ(result.reason, "UNREGISTERED");
}

TEST_F(FcmProviderTest, InvalidArgumentIsRejectedWithTheReason) {
  start();
  SendResult result = send("bad-1");
  EXPECT_EQ(result.outcome, SendOutcome::rejected);
  EXPECT_EQ(result.http_status, 400);
  EXPECT_THAT(result.reason, StartsWith("INVALID_ARGUMENT: The registration token is not"));
}

TEST_F(FcmProviderTest, UnavailableAndQuotaAreRetriedWithRetryAfter) {
  start({"--flaky-failures", "2"});
  SendResult result = send("flaky-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.reason, "UNAVAILABLE");
  EXPECT_EQ(result.retry_after, std::chrono::milliseconds(1000));
  EXPECT_EQ(send("flaky-1").outcome, SendOutcome::retry);
  EXPECT_EQ(send("flaky-1").outcome, SendOutcome::accepted);  // the third time
  result = send("quota-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 429);
  EXPECT_EQ(result.reason, "QUOTA_EXCEEDED");
  EXPECT_EQ(result.retry_after, std::chrono::milliseconds(2000));
}

TEST_F(FcmProviderTest, TimeoutsAndDroppedConnectionsAreRetried) {
  FcmProviderOptions options;
  options.request_timeout = std::chrono::milliseconds(500);
  start({}, options);
  SendResult result = send("hang-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_EQ(result.reason, "timeout");
  result = send("drop-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_FALSE(result.reason.empty());
  EXPECT_EQ(send("phone-1").outcome, SendOutcome::accepted);
}

TEST_F(FcmProviderTest, ARefusedAssertionFailsEveryWaitingSendWithOneRequest) {
  // The fake expects another client_email: the token endpoint says invalid_grant.
  start({}, {}, "someone-else@exemple-news.iam.gserviceaccount.com");
  std::vector<SendResult> results;
  for (int i = 0; i < 5; ++i)
    provider_->send(article("eco-77"), device("phone-" + std::to_string(i)),
                    [&](SendResult r) { results.push_back(r); });
  ASSERT_TRUE(run_until(
      io_, [&] { return results.size() == 5; }, kBound));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, SendOutcome::retry);
    EXPECT_THAT(r.reason, StartsWith("token: HTTP 400"));
  }
  auto s = stats();
  EXPECT_EQ(s["tokenRequests"], 1);
  EXPECT_THAT(s["tokenRefusals"][0].get<std::string>(), HasSubstr("iss"));
  EXPECT_EQ(s["sends"], 0);
}

TEST_F(FcmProviderTest, AnAssertionSignedWithAnotherKeyIsRefused) {
  // The fake holds another public key than the service account's private one.
  RsaKeyFiles other;
  std::vector<std::string> flags = {"--public-key",   other.public_pem.string(),
                                    "--client-email", kClientEmail,
                                    "--project-id",   "exemple-news"};
  fake_ = std::make_unique<NodeServer>(FAKE_FCM_CJS, flags);
  base_ = "http://127.0.0.1:" + std::to_string(fake_->port("http"));
  nlohmann::json account = {
      {"type", "service_account"},    {"project_id", "exemple-news"},
      {"private_key_id", "k1"},       {"private_key", read_file(keys_->private_pem)},
      {"client_email", kClientEmail}, {"token_uri", base_ + "/token"}};
  FcmProviderOptions options;
  options.endpoint = base_;
  provider_ = std::make_unique<FcmProvider>(io_.get_executor(), http_,
                                            FcmServiceAccount::parse(account.dump()), options);
  SendResult result = send("phone-1");
  EXPECT_EQ(result.outcome, SendOutcome::retry);
  EXPECT_THAT(result.reason, HasSubstr("bad signature"));
  EXPECT_EQ(stats()["tokenRefusals"][0], "bad signature");
}

TEST_F(FcmProviderTest, ALongArticleIsShortenedToFit) {
  start();
  ArticleNotification long_article = article("eco-78");
  for (int i = 0; i < 400; ++i) long_article.body += " Les prix montent encore.";
  std::optional<SendResult> result;
  provider_->send(long_article, device("phone-1"), [&](SendResult r) { result = r; });
  ASSERT_TRUE(run_until(
      io_, [&] { return result.has_value(); }, kBound));
  EXPECT_EQ(result->outcome, SendOutcome::accepted) << result->reason;
  auto s = stats();
  EXPECT_EQ(s["invalid"].size(), 0u);  // the fake checks the 4096-byte limit
  std::string body = s["notifications"][0]["body"];
  EXPECT_LT(body.size(), long_article.body.size());
  EXPECT_TRUE(body.ends_with("…")) << body;
}

TEST_F(FcmProviderTest, StopRefusesNewSendsAndLetsThoseInFlightFinish) {
  start({"--slow-ms", "500"});
  FcmProviderOptions defaults;
  EXPECT_EQ(provider_->capacity(), defaults.max_in_flight);
  std::optional<SendResult> slow;
  provider_->send(article("eco-77"), device("slow-1"), [&](SendResult r) { slow = r; });
  EXPECT_EQ(provider_->capacity(), defaults.max_in_flight - 1);
  provider_->stop();
  EXPECT_EQ(provider_->capacity(), 0u);
  std::optional<SendResult> late;
  provider_->send(article("eco-77"), device("phone-1"), [&](SendResult r) { late = r; });
  EXPECT_FALSE(late.has_value());  // answered later, never inside send()
  ASSERT_TRUE(run_until(
      io_, [&] { return slow && late; }, kBound));
  EXPECT_EQ(slow->outcome, SendOutcome::accepted);
  EXPECT_EQ(late->outcome, SendOutcome::retry);
  EXPECT_EQ(late->reason, "stopping");
}

TEST_F(FcmProviderTest, AnUnaddressableTokenIsRejectedWithoutARequest) {
  start();
  SendResult result = send("");
  EXPECT_EQ(result.outcome, SendOutcome::rejected);
  EXPECT_EQ(result.reason, "bad token");
  EXPECT_EQ(stats()["sends"], 0);
}

TEST(RetryAfter, SecondsOrAnHttpDateBounded) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("7", now), std::chrono::milliseconds(7000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), std::chrono::seconds(30));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), std::chrono::seconds(0));
  EXPECT_EQ(parse_retry_after("99999999999999999999", now), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("86400", now), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-3", now), std::nullopt);
}

}  // namespace
}  // namespace newspush::test

// newspush-bridge as a process: a real redis-server, articles published through the history's
// own publish function (newspush_publish, newspushd's publish path), the fake Web Push service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/bridge/daemon/fake_web_push.hpp"
#include "tests/bridge/daemon/node_server.hpp"
#include "tests/bridge/daemon/test_pki.hpp"
#include "tests/support/articles.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/cli_runner.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/functions_library.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

namespace newspush::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto kBound = 30s;
const std::string kApiKey = "bridge-test-key-0123456789";

// Lines of a program's output (a trailing newline ends the last one, it does not start another).
std::size_t line_count(std::string output) {
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output.empty()
             ? 0
             : 1 + static_cast<std::size_t>(std::count(output.begin(), output.end(), '\n'));
}

std::string bearer() { return "Bearer " + kApiKey; }

// newspush-bridge on a free port, Web Push only, http:// endpoints allowed (the fake).
class BridgeProcess {
 public:
  BridgeProcess(const std::string& redis_url, const std::string& vapid_file,
                std::vector<std::string> extra = {})
      : process_(arguments(redis_url, vapid_file, std::move(extra))) {
    if (!process_.wait_for_line("bridge_listening", kBound))
      throw std::runtime_error("newspush-bridge did not start:\n" + process_.output());
    for (const auto& line : process_.lines()) {
      std::smatch match;
      if (std::regex_search(line, match, std::regex(" port=(\\d+)")))
        port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
    }
  }
  ~BridgeProcess() { process_.kill(); }

  std::uint16_t port() const { return port_; }
  ChildProcess& process() { return process_; }
  bool wait_ready() {
    return eventually(
        [&] {
          auto r = http_get(port_, "/readyz", 2s);
          return r && r->status == 200;
        },
        kBound);
  }
  std::optional<double> metric(const std::string& series) {
    auto r = http_get(port_, "/metrics", 5s);
    if (!r || r->status != 200) return std::nullopt;
    return metric_value(r->body, series);
  }
  bool wait_metric(const std::string& series, double at_least) {
    return eventually([&] { return metric(series).value_or(-1) >= at_least; }, kBound);
  }
  std::optional<HttpResponse> api(const std::string& method, const std::string& id,
                                  const std::string& body = {}) {
    return http_request(port_, method, "/api/v1/devices/" + id, body,
                        {{"Authorization", bearer()}, {"Content-Type", "application/json"}});
  }

 private:
  static std::vector<std::string> arguments(const std::string& redis_url,
                                            const std::string& vapid_file,
                                            std::vector<std::string> extra) {
    std::vector<std::string> argv{NEWSPUSH_BRIDGE_BIN,
                                  "--redis",
                                  redis_url,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--api-key",
                                  kApiKey,
                                  "--vapid-key",
                                  vapid_file,
                                  "--webpush-allow-http",
                                  "true",
                                  "--log-level",
                                  "debug"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  ChildProcess process_;
  std::uint16_t port_ = 0;
};

class BridgeDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = redis_.command({"FUNCTION", "LOAD", "REPLACE", functions_library_source()});
    ASSERT_EQ(loaded.text, "newspush");
    vapid_file_ = redis_.dir() / "vapid.pem";
    auto made = run_program({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                             "-out", vapid_file_.string()});
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }

  std::unique_ptr<BridgeProcess> start_bridge(std::vector<std::string> extra = {}) {
    auto bridge =
        std::make_unique<BridgeProcess>(redis_.url(), vapid_file_.string(), std::move(extra));
    EXPECT_TRUE(bridge->wait_ready()) << bridge->process().output();
    return bridge;
  }

  // A Web Push device registered through the API; returns its subscription name at the fake.
  void register_webpush(BridgeProcess& bridge, const std::string& id,
                        std::vector<std::string> categories, bool breaking = false) {
    nlohmann::json body{{"platform", "webpush"},
                        {"subscription", fake_.subscribe(id)},
                        {"categories", categories},
                        {"breaking", breaking},
                        {"locale", "fr"}};
    auto r = bridge.api("PUT", id, body.dump());
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->status == 201 || r->status == 200) << r->status << " " << r->body;
  }

  // Redis goes away while an article is being fanned out to slow sends, and comes back (with its
  // data: AOF). `down_to_the_end`: it comes back only once every send was answered, else after one
  // more round of sends.
  void redis_restart_mid_article(bool down_to_the_end) {
    constexpr std::size_t kDevices = 64;
    RedisServer durable(RedisServerOptions{.append_only = true});
    ASSERT_EQ(durable.command({"FUNCTION", "LOAD", "REPLACE", functions_library_source()}).text,
              "newspush");
    BridgeProcess bridge(durable.url(), vapid_file_.string(),
                         {"--webpush-concurrency", "8", "--claim-after", "2s"});
    ASSERT_TRUE(bridge.wait_ready()) << bridge.process().output();
    std::vector<std::string> names;
    for (std::size_t i = 0; i < kDevices; ++i) {
      names.push_back("d" + std::to_string(i));
      register_webpush(bridge, names.back(), {"sport"});
    }
    fake_.set_delay(250ms);
    publish(durable, make_article("mid", "sport"));
    ASSERT_TRUE(fake_.wait_accepted(8, kBound)) << bridge.process().output();
    // Every device must be in the bridge's hands (paged from its set, checked against the
    // accepted records) before Redis goes, or the rest could not even be looked up: on a
    // loaded machine the last pages can come after the first sends are answered; both variants
    // then wait, with Redis down, for sends the bridge already holds.
    ASSERT_TRUE(eventually(
        [&] {
          return bridge.metric("newspush_bridge_queued").value_or(0) +
                     bridge.metric("newspush_bridge_in_flight").value_or(0) +
                     bridge.metric("newspush_bridge_sent_total{platform=\"webpush\"}")
                         .value_or(0) ==
                 kDevices;
        },
        kBound))
        << bridge.process().output();
    durable.kill();
    auto accepted_at_kill = fake_.accepted_total();
    ASSERT_LT(accepted_at_kill + 8, kDevices) << "the article was sent before Redis went down";
    ASSERT_TRUE(fake_.wait_accepted(down_to_the_end ? kDevices : accepted_at_kill + 8, kBound));
    durable.restart();
    fake_.set_delay(0ms);
    ASSERT_TRUE(bridge.wait_ready()) << bridge.process().output();
    ASSERT_TRUE(fake_.wait_accepted(kDevices, 60s)) << bridge.process().output();
    ASSERT_TRUE(eventually([&] { return pending(durable) == 0; }, 60s))
        << bridge.process().output();
    // Nothing left to send: whatever was going to be sent twice has been by now.
    ASSERT_TRUE(eventually(
        [&] {
          return bridge.metric("newspush_bridge_in_flight") == 0 &&
                 bridge.metric("newspush_bridge_queued") == 0;
        },
        kBound));
    expect_each_exactly_once("mid", names);
    EXPECT_EQ(durable.command_string({"SCARD", "bridge:accepted:mid"}), std::to_string(kDevices));
    // The records carry their expiry (7 days by default) whatever Redis went through.
    auto ttl = std::stoll(durable.command_string({"TTL", "bridge:accepted:mid"}));
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 7 * 24 * 3600);
    EXPECT_EQ(durable.command_string({"XLEN", "bridge:dead-letters"}), "0");
    EXPECT_TRUE(bridge.process().running());
  }

  // The fake FCM with a service account made for it, written to service-account.json in
  // Redis's directory.
  std::unique_ptr<NodeServer> start_fake_fcm() {
    auto keys = redis_.dir() / "fcm-key.pem";
    auto public_key = redis_.dir() / "fcm-pub.pem";
    EXPECT_EQ(run_program({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                           "rsa_keygen_bits:2048", "-out", keys.string()})
                  .exit_code,
              0);
    EXPECT_EQ(run_program(
                  {"openssl", "pkey", "-in", keys.string(), "-pubout", "-out", public_key.string()})
                  .exit_code,
              0);
    auto fcm = std::make_unique<NodeServer>(
        FAKE_FCM_CJS, std::vector<std::string>{"--public-key", public_key.string(), "--client-email",
                                               "bridge@exemple-news.iam.gserviceaccount.com",
                                               "--project-id", "exemple-news"});
    std::string base = "http://127.0.0.1:" + std::to_string(fcm->port("http"));
    std::ifstream key_in(keys);
    std::string private_key((std::istreambuf_iterator<char>(key_in)),
                            std::istreambuf_iterator<char>());
    std::ofstream(redis_.dir() / "service-account.json") << nlohmann::json{
        {"type", "service_account"},
        {"project_id", "exemple-news"},
        {"private_key_id", "k1"},
        {"private_key", private_key},
        {"client_email", "bridge@exemple-news.iam.gserviceaccount.com"},
        {"token_uri", base + "/token"}}.dump();
    return fcm;
  }

  // Log entries delivered to the bridges' group and not yet acknowledged (XPENDING's count).
  static long long pending(RedisServer& redis) {
    auto summary = redis.command({"XPENDING", "news:log", "newspush-bridge"});
    return summary.elements.empty() ? -1 : summary.elements[0].integer;
  }

  // Each of `names` got this article exactly once, and nobody else got it.
  void expect_each_exactly_once(const std::string& article_id,
                                const std::vector<std::string>& names) {
    auto got = deliveries(article_id);
    std::size_t missing = 0, twice = 0;
    for (const auto& name : names) {
      missing += got[name] == 0;
      twice += got[name] > 1;
      EXPECT_EQ(got[name], 1) << name;
    }
    EXPECT_EQ(got.size(), names.size());
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(twice, 0u);
  }

  // Pushes of this article the fake accepted, per subscription.
  std::map<std::string, int> deliveries(const std::string& article_id) {
    std::map<std::string, int> out;
    for (const auto& push : fake_.pushes())
      if (push.answered / 100 == 2 && push.payload.value("tag", "") == article_id) ++out[push.name];
    return out;
  }

  RedisServer redis_;
  FakeWebPush fake_;
  std::filesystem::path vapid_file_;
};

TEST(BridgeFlagsTest, BadFlagAndMissingCredentialsExitTwoWithOneLine) {
  auto unknown = run_program({NEWSPUSH_BRIDGE_BIN, "--no-such-flag", "x"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("unknown option '--no-such-flag'"));
  EXPECT_EQ(line_count(unknown.output), 1u) << unknown.output;

  auto none = run_program({NEWSPUSH_BRIDGE_BIN, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.output, HasSubstr("no provider credentials"));
  EXPECT_EQ(line_count(none.output), 1u) << none.output;

  auto bad_duration = run_program({NEWSPUSH_BRIDGE_BIN, "--claim-after", "soon"});
  EXPECT_EQ(bad_duration.exit_code, 2);
  EXPECT_THAT(bad_duration.output, HasSubstr("--claim-after"));

  auto unreadable = run_program(
      {NEWSPUSH_BRIDGE_BIN, "--vapid-key", "/nonexistent/vapid.pem", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_THAT(unreadable.output, HasSubstr("--vapid-key: cannot read"));

  auto help = run_program({NEWSPUSH_BRIDGE_BIN, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("--claim-after DURATION"));
  EXPECT_THAT(help.output, HasSubstr("NEWSPUSH_BRIDGE_API_KEYS"));
}

TEST_F(BridgeDaemonTest, DeviceApiAuthValidationReplaceGetDelete) {
  auto bridge = start_bridge();
  // Authentication.
  auto anonymous = http_request(bridge->port(), "GET", "/api/v1/devices/d1");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto wrong = http_request(bridge->port(), "GET", "/api/v1/devices/d1", {},
                            {{"Authorization", "Bearer not-the-right-key-000000"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  // Validation.
  struct Bad {
    std::string body, error;
  };
  for (
      const auto& bad : std::vector<Bad>{
          {"not json", "bad_json"},
          {R"({"platform":"sms","token":"x"})", "bad_platform"},
          {R"({"platform":"fcm"})", "bad_token"},
          {R"({"platform":"webpush","token":"x"})", "bad_subscription"},
          {R"({"platform":"webpush","subscription":{"endpoint":"https://push.example/x","keys":{"p256dh":"AAAA","auth":"AAAA"}}})",
           "bad_subscription"},
          {R"({"platform":"fcm","token":"t","categories":["Not A Slug"]})", "bad_categories"},
          {R"({"platform":"fcm","token":"t","breaking":"yes"})", "bad_breaking"}}) {
    auto r = bridge->api("PUT", "d1", bad.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad.body;
    EXPECT_THAT(r->body, HasSubstr(bad.error)) << bad.body;
  }
  auto bad_id = bridge->api("PUT", "bad%20id", R"({"platform":"fcm","token":"t"})");
  ASSERT_TRUE(bad_id);
  EXPECT_EQ(bad_id->status, 400);
  // Create, read back.
  auto created = bridge->api(
      "PUT", "d1",
      R"({"platform":"fcm","token":"tok-1","categories":["sport","culture"],"breaking":true,"locale":"fr"})");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201) << created->body;
  auto read = bridge->api("GET", "d1");
  ASSERT_TRUE(read);
  ASSERT_EQ(read->status, 200);
  auto device = nlohmann::json::parse(read->body);
  EXPECT_EQ(device["platform"], "fcm");
  EXPECT_EQ(device["token"], "tok-1");
  EXPECT_EQ(device["categories"], nlohmann::json({"sport", "culture"}));
  EXPECT_EQ(device["breaking"], true);
  EXPECT_EQ(device["locale"], "fr");
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:category:culture", "d1"}), "1");
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:breaking", "d1"}), "1");
  // Re-registering replaces the whole state, index included.
  auto replaced =
      bridge->api("PUT", "d1", R"({"platform":"apns","token":"tok-2","categories":["economie"]})");
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->status, 200);
  device = nlohmann::json::parse(bridge->api("GET", "d1")->body);
  EXPECT_EQ(device["platform"], "apns");
  EXPECT_EQ(device["categories"], nlohmann::json({"economie"}));
  EXPECT_EQ(device["breaking"], false);
  EXPECT_FALSE(device.contains("locale"));
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:category:culture", "d1"}), "0");
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:category:economie", "d1"}), "1");
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:breaking", "d1"}), "0");
  // Delete.
  auto deleted = bridge->api("DELETE", "d1");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 204);
  EXPECT_EQ(bridge->api("GET", "d1")->status, 404);
  EXPECT_EQ(bridge->api("DELETE", "d1")->status, 404);
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:category:economie", "d1"}), "0");
  // A body past the bound.
  auto huge = bridge->api("PUT", "d2", std::string(64 * 1024, ' '));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
}

TEST_F(BridgeDaemonTest, ArticleReachesEveryDeviceOfItsCategoryOnceAndBreakingTheOptedIn) {
  auto bridge = start_bridge();
  register_webpush(*bridge, "sport-1", {"sport"});
  register_webpush(*bridge, "sport-2", {"sport", "culture"});
  register_webpush(*bridge, "sport-3", {"sport"}, true);
  register_webpush(*bridge, "culture-1", {"culture"});
  register_webpush(*bridge, "breaking-only", {}, true);
  register_webpush(*bridge, "everything", {"*"});

  publish(redis_, make_article("a-sport", "sport"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1))
      << bridge->process().output();
  EXPECT_EQ(deliveries("a-sport"),
            (std::map<std::string, int>{
                {"sport-1", 1}, {"sport-2", 1}, {"sport-3", 1}, {"everything", 1}}));

  auto breaking = make_article("b-culture", "culture", true);
  breaking["summary"] = "Un résumé accentué";
  publish(redis_, breaking);
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 2));
  EXPECT_EQ(deliveries("b-culture"), (std::map<std::string, int>{{"sport-2", 1},
                                                                 {"culture-1", 1},
                                                                 {"sport-3", 1},
                                                                 {"breaking-only", 1},
                                                                 {"everything", 1}}));
  for (const auto& push : fake_.pushes()) {
    if (push.payload["tag"] != "b-culture") continue;
    EXPECT_EQ(push.urgency, "high");
    EXPECT_EQ(push.payload["title"], "Titre b-culture");
    EXPECT_EQ(push.payload["body"], "Un résumé accentué");
  }
  EXPECT_TRUE(fake_.errors().empty()) << fake_.errors().front();
  EXPECT_EQ(bridge->metric("newspush_bridge_sent_total{platform=\"webpush\"}"), 9);
}

TEST_F(BridgeDaemonTest, CorrectionsAndRetractionsDoNotNotify) {
  auto bridge = start_bridge();
  register_webpush(*bridge, "p1", {"politique"});
  register_webpush(*bridge, "p2", {"politique"});
  publish(redis_, make_article("a1", "politique"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1));
  auto corrected = make_article("a1", "politique");
  corrected["title"] = "Titre corrigé";
  publish(redis_, corrected);
  auto retracted = redis_.command({"FCALL", "newspush_retract", "1", "news:log", "a1"});
  ASSERT_NE(retracted.type, RedisValue::Type::error) << retracted.text;
  // Something that does notify, after them: once it is through, they were handled.
  publish(redis_, make_article("a2", "politique"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 4));
  EXPECT_EQ(deliveries("a1"), (std::map<std::string, int>{{"p1", 1}, {"p2", 1}}));
  EXPECT_EQ(deliveries("a2"), (std::map<std::string, int>{{"p1", 1}, {"p2", 1}}));
  EXPECT_EQ(bridge->metric("newspush_bridge_entries_skipped_total"), 2);
}

TEST_F(BridgeDaemonTest, DeadTokenRemovesTheDevice) {
  auto bridge = start_bridge();
  register_webpush(*bridge, "alive", {"sport"});
  register_webpush(*bridge, "gone", {"sport"}, true);
  fake_.script("gone", {FakeAnswer{410}});
  publish(redis_, make_article("a1", "sport"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_dead_tokens_removed_total", 1));
  EXPECT_EQ(bridge->api("GET", "gone")->status, 404);
  EXPECT_EQ(bridge->api("GET", "alive")->status, 200);
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:category:sport", "gone"}), "0");
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:breaking", "gone"}), "0");
  // Never retried: the next article goes to the living one only.
  publish(redis_, make_article("a2", "sport", true));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 2));
  EXPECT_EQ(deliveries("a2"), (std::map<std::string, int>{{"alive", 1}}));
  EXPECT_EQ(fake_.started(), 3u);
}

TEST_F(BridgeDaemonTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  auto bridge = start_bridge();
  register_webpush(*bridge, "busy", {"sport"});
  fake_.script("busy", {FakeAnswer{429, "1"}, FakeAnswer{500}});
  publish(redis_, make_article("a1", "sport"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1));
  auto pushes = fake_.pushes();
  ASSERT_EQ(pushes.size(), 3u);
  EXPECT_EQ(pushes[0].answered, 429);
  EXPECT_EQ(pushes[1].answered, 500);
  EXPECT_EQ(pushes[2].answered, 201);
  // Retry-After: 1 was honoured.
  EXPECT_GE(pushes[1].at - pushes[0].at, 950ms);
  // The same Topic each time: a duplicate replaces, it does not stack.
  EXPECT_EQ(pushes[0].topic, pushes[2].topic);
  EXPECT_EQ(bridge->metric("newspush_bridge_retries_total{platform=\"webpush\"}"), 2);
  EXPECT_EQ(deliveries("a1"), (std::map<std::string, int>{{"busy", 1}}));
}

TEST_F(BridgeDaemonTest, RejectedGoesToTheDeadLetterStream) {
  auto bridge = start_bridge();
  register_webpush(*bridge, "refused", {"sport"});
  register_webpush(*bridge, "fine", {"sport"});
  fake_.script("refused", {FakeAnswer{400}});
  publish(redis_, make_article("a1", "sport"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1));
  auto letters = redis_.command({"XRANGE", "bridge:dead-letters", "-", "+"});
  ASSERT_EQ(letters.elements.size(), 1u);
  const auto& fields = letters.elements[0].elements[1].elements;
  std::map<std::string, std::string> letter;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    letter[fields[i].text] = fields[i + 1].text;
  EXPECT_EQ(letter["device"], "refused");
  EXPECT_EQ(letter["article"], "a1");
  EXPECT_EQ(letter["status"], "400");
  EXPECT_THAT(letter["reason"], HasSubstr("http_400"));
  EXPECT_EQ(deliveries("a1"), (std::map<std::string, int>{{"fine", 1}}));
}

TEST_F(BridgeDaemonTest, KilledBridgeIsFinishedByAnotherWithoutDuplicates) {
  auto first = start_bridge({"--webpush-concurrency", "2", "--claim-after", "1s"});
  constexpr int kDevices = 12;
  for (int i = 0; i < kDevices; ++i) register_webpush(*first, "d" + std::to_string(i), {"sport"});
  fake_.set_delay(300ms);
  publish(redis_, make_article("a1", "sport"));
  ASSERT_TRUE(fake_.wait_accepted(3, kBound));
  first->process().kill();  // SIGKILL mid-batch
  auto accepted_before = redis_.command({"SMEMBERS", "bridge:accepted:a1"});
  ASSERT_GE(accepted_before.elements.size(), 1u);
  ASSERT_LT(accepted_before.elements.size(), static_cast<std::size_t>(kDevices));
  fake_.set_delay(0ms);

  auto second = start_bridge({"--claim-after", "1s"});
  ASSERT_TRUE(second->wait_metric("newspush_bridge_entries_acked_total", 1))
      << second->process().output();
  EXPECT_GE(second->metric("newspush_bridge_entries_claimed_total").value_or(0), 1);
  auto got = deliveries("a1");
  for (int i = 0; i < kDevices; ++i) EXPECT_GE(got["d" + std::to_string(i)], 1) << i;
  // Those recorded as accepted before the kill were not sent again.
  for (const auto& device : accepted_before.elements) EXPECT_EQ(got[device.text], 1) << device.text;
  EXPECT_GE(second->metric("newspush_bridge_sends_skipped_accepted_total").value_or(0),
            static_cast<double>(accepted_before.elements.size()));
  EXPECT_EQ(redis_.command_string({"XLEN", "bridge:dead-letters"}), "0");
}

TEST_F(BridgeDaemonTest, SigtermFinishesInFlightSendsAndExitsZero) {
  auto first = start_bridge({"--webpush-concurrency", "2", "--claim-after", "1s"});
  constexpr int kDevices = 8;
  for (int i = 0; i < kDevices; ++i) register_webpush(*first, "d" + std::to_string(i), {"sport"});
  fake_.set_delay(1500ms);
  publish(redis_, make_article("a1", "sport"));
  ASSERT_TRUE(fake_.wait_started(2, kBound));
  first->process().send_signal(SIGTERM);
  auto code = first->process().wait_exit(kBound);
  ASSERT_TRUE(code) << first->process().output();
  EXPECT_EQ(*code, 0) << first->process().output();
  // What was in flight was answered and recorded.
  auto accepted = redis_.command({"SMEMBERS", "bridge:accepted:a1"});
  EXPECT_GE(accepted.elements.size(), 2u);
  EXPECT_LT(accepted.elements.size(), static_cast<std::size_t>(kDevices));
  EXPECT_EQ(fake_.accepted_total(), accepted.elements.size());
  // Not acknowledged: another bridge finishes it, without sending twice.
  fake_.set_delay(0ms);
  auto second = start_bridge({"--claim-after", "1s"});
  ASSERT_TRUE(second->wait_metric("newspush_bridge_entries_acked_total", 1));
  auto got = deliveries("a1");
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kDevices));
  for (const auto& [name, n] : got) EXPECT_EQ(n, 1) << name;
}

TEST_F(BridgeDaemonTest, RetractionCancelsQueuedSends) {
  auto bridge = start_bridge({"--webpush-concurrency", "1"});
  constexpr int kDevices = 6;
  for (int i = 0; i < kDevices; ++i) register_webpush(*bridge, "d" + std::to_string(i), {"sport"});
  fake_.set_delay(1500ms);
  publish(redis_, make_article("a1", "sport"));
  ASSERT_TRUE(fake_.wait_started(1, kBound));
  auto retracted = redis_.command({"FCALL", "newspush_retract", "1", "news:log", "a1"});
  ASSERT_NE(retracted.type, RedisValue::Type::error) << retracted.text;
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 2))
      << bridge->process().output();
  EXPECT_GE(bridge->metric("newspush_bridge_sends_cancelled_total").value_or(0), kDevices - 2);
  std::size_t sent = 0;
  for (const auto& [name, n] : deliveries("a1")) sent += n;
  EXPECT_LE(sent, 2u);
  EXPECT_GE(sent, 1u);
}

TEST_F(BridgeDaemonTest, TwoBridgesShareTheLogAndEachDeviceGetsEachArticleOnce) {
  auto first = start_bridge();
  auto second = start_bridge();
  constexpr int kDevices = 5, kArticles = 6;
  for (int i = 0; i < kDevices; ++i) register_webpush(*first, "d" + std::to_string(i), {"sport"});
  for (int a = 0; a < kArticles; ++a)
    publish(redis_, make_article("a" + std::to_string(a), "sport"));
  ASSERT_TRUE(eventually(
      [&] {
        return first->metric("newspush_bridge_entries_acked_total").value_or(0) +
                   second->metric("newspush_bridge_entries_acked_total").value_or(0) >=
               kArticles;
      },
      kBound));
  for (int a = 0; a < kArticles; ++a) {
    auto got = deliveries("a" + std::to_string(a));
    EXPECT_EQ(got.size(), static_cast<std::size_t>(kDevices)) << a;
    for (const auto& [name, n] : got) EXPECT_EQ(n, 1) << "a" << a << " " << name;
  }
  EXPECT_EQ(first->metric("newspush_bridge_entries_acked_total").value_or(0) +
                second->metric("newspush_bridge_entries_acked_total").value_or(0),
            kArticles);
}

TEST_F(BridgeDaemonTest, LogTrimmedPastTheGroupIsCountedAndReadingGoesOn) {
  {
    auto first = start_bridge();
    register_webpush(*first, "s1", {"sport"});
    ASSERT_EQ(first->process().send_signal(SIGTERM), true);
    ASSERT_EQ(first->process().wait_exit(kBound), 0);
  }
  // While no bridge runs, three articles, two of them trimmed away unread.
  publish(redis_, make_article("lost-1", "sport"));
  publish(redis_, make_article("lost-2", "sport"));
  publish(redis_, make_article("kept", "sport"));
  redis_.command({"XTRIM", "news:log", "MAXLEN", "1"});
  ASSERT_EQ(redis_.command_string({"XLEN", "news:log"}), "1");
  auto second = start_bridge();
  ASSERT_TRUE(second->wait_metric("newspush_bridge_entries_acked_total", 1))
      << second->process().output();
  EXPECT_EQ(second->metric("newspush_bridge_log_gaps_total"), 1);
  EXPECT_TRUE(second->process().wait_for_line("bridge_log_gap", kBound));
  EXPECT_EQ(deliveries("kept"), (std::map<std::string, int>{{"s1", 1}}));
  EXPECT_TRUE(deliveries("lost-1").empty());
}

TEST_F(BridgeDaemonTest, RedisRestartIsSurvivedAndLagGoesBackToZero) {
  RedisServer durable(RedisServerOptions{.append_only = true});
  ASSERT_EQ(durable.command({"FUNCTION", "LOAD", "REPLACE", functions_library_source()}).text,
            "newspush");
  BridgeProcess bridge(durable.url(), vapid_file_.string());
  ASSERT_TRUE(bridge.wait_ready()) << bridge.process().output();
  register_webpush(bridge, "r1", {"sport"});
  publish(durable, make_article("before", "sport"));
  ASSERT_TRUE(bridge.wait_metric("newspush_bridge_entries_acked_total", 1));
  durable.kill();
  ASSERT_TRUE(eventually(
      [&] {
        auto r = http_get(bridge.port(), "/readyz", 2s);
        return r && r->status == 503;
      },
      kBound));
  EXPECT_EQ(http_get(bridge.port(), "/healthz")->status, 200);
  durable.restart();
  ASSERT_TRUE(bridge.wait_ready()) << bridge.process().output();
  publish(durable, make_article("after", "sport"));
  ASSERT_TRUE(bridge.wait_metric("newspush_bridge_entries_acked_total", 2))
      << bridge.process().output();
  EXPECT_EQ(deliveries("after"), (std::map<std::string, int>{{"r1", 1}}));
  EXPECT_EQ(deliveries("before"), (std::map<std::string, int>{{"r1", 1}}));
  EXPECT_TRUE(eventually([&] { return bridge.metric("newspush_bridge_lag") == 0; }, kBound));
  EXPECT_TRUE(bridge.process().running());
}

TEST_F(BridgeDaemonTest, FcmAndWebPushDevicesOfOneArticleThroughTheFakeFcm) {
  auto fcm = start_fake_fcm();
  std::string base = "http://127.0.0.1:" + std::to_string(fcm->port("http"));
  auto bridge = start_bridge(
      {"--fcm-credentials", (redis_.dir() / "service-account.json").string(), "--fcm-endpoint", base});
  for (const auto& [id, token] :
       std::vector<std::pair<std::string, std::string>>{{"phone-1", "tok-1"},
                                                        {"phone-2", "tok-2"},
                                                        {"phone-dead", "dead-1"},
                                                        {"phone-flaky", "flaky-1"}}) {
    nlohmann::json body{{"platform", "fcm"}, {"token", token}, {"categories", {"economie"}}};
    auto r = bridge->api("PUT", id, body.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
  register_webpush(*bridge, "browser-1", {"economie"});
  publish(redis_, make_article("eco-1", "economie", true));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1))
      << bridge->process().output();

  auto stats_reply = http_get(fcm->port("http"), "/__stats");
  ASSERT_TRUE(stats_reply);
  auto stats = nlohmann::json::parse(stats_reply->body);
  EXPECT_EQ(stats["accepted"], 3);  // tok-1, tok-2, and flaky-1 after its 503s
  EXPECT_EQ(stats["byToken"]["tok-1"], 1);
  EXPECT_EQ(stats["byToken"]["tok-2"], 1);
  EXPECT_EQ(stats["byToken"]["dead-1"], 1);  // never retried
  EXPECT_EQ(stats["invalid"].size(), 0u) << stats["invalid"];
  for (const auto& shown : stats["notifications"]) {
    EXPECT_EQ(shown["collapse_key"], "eco-1");
    EXPECT_EQ(shown["priority"], "high");
  }
  EXPECT_EQ(bridge->api("GET", "phone-dead")->status, 404);
  EXPECT_EQ(bridge->metric("newspush_bridge_sent_total{platform=\"fcm\"}"), 3);
  EXPECT_EQ(deliveries("eco-1"), (std::map<std::string, int>{{"browser-1", 1}}));
}

TEST_F(BridgeDaemonTest, FcmTopicsGetEachArticleOnceBesidesTheRegisteredDevices) {
  auto fcm = start_fake_fcm();
  std::string base = "http://127.0.0.1:" + std::to_string(fcm->port("http"));
  auto bridge = start_bridge({"--fcm-credentials",
                              (redis_.dir() / "service-account.json").string(), "--fcm-endpoint",
                              base, "--fcm-topics"});
  nlohmann::json phone{{"platform", "fcm"}, {"token", "tok-1"}, {"categories", {"sport", "culture"}}};
  auto r = bridge->api("PUT", "phone-1", phone.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  auto stats = [&] {
    auto reply = http_get(fcm->port("http"), "/__stats");
    return reply ? nlohmann::json::parse(reply->body) : nlohmann::json::object();
  };

  publish(redis_, make_article("t1", "sport", true));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1))
      << bridge->process().output();
  auto after_t1 = stats();
  EXPECT_EQ(after_t1["byToken"]["/topics/sport"], 1);
  EXPECT_EQ(after_t1["byToken"]["/topics/breaking"], 1);  // breaking news: besides its category
  EXPECT_EQ(after_t1["byToken"]["tok-1"], 1);
  EXPECT_EQ(after_t1["accepted"], 3);
  EXPECT_EQ(after_t1["invalid"].size(), 0u) << after_t1["invalid"];
  EXPECT_EQ(redis_.command_string({"SISMEMBER", "bridge:accepted:t1", "/topics/sport"}), "1");

  // An entry gone through before (claimed from a bridge that died after the topic send was
  // accepted and recorded): the topic is not sent again, the device that was not served is.
  redis_.command({"SADD", "bridge:accepted:t2", "/topics/culture"});
  publish(redis_, make_article("t2", "culture"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 2))
      << bridge->process().output();
  auto after_t2 = stats();
  EXPECT_FALSE(after_t2["byToken"].contains("/topics/culture")) << after_t2["byToken"];
  EXPECT_EQ(after_t2["byToken"]["/topics/breaking"], 1);  // not breaking: no "breaking" topic
  EXPECT_EQ(after_t2["byToken"]["tok-1"], 2);
  EXPECT_EQ(after_t2["accepted"], 4);
  EXPECT_EQ(bridge->metric("newspush_bridge_sends_skipped_accepted_total"), 1);
  EXPECT_EQ(bridge->metric("newspush_bridge_sent_total{platform=\"fcm\"}"), 4);
}

TEST_F(BridgeDaemonTest, ApnsDevicesThroughTheFakeApnsOverHttp2WithTheTestCa) {
  TestPki pki;
  const std::string d = pki.dir.string();
  ASSERT_EQ(run_program({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-out", d + "/apns.p8"})
                .exit_code,
            0);
  ASSERT_EQ(
      run_program({"openssl", "pkey", "-in", d + "/apns.p8", "-pubout", "-out", d + "/apns.pub"})
          .exit_code,
      0);
  NodeServer apns(FAKE_APNS_CJS,
                  {"--cert", pki.server_cert.string(), "--key", pki.server_key.string(),
                   "--public-key", d + "/apns.pub", "--key-id", "KEY1234567", "--team-id",
                   "TEAM123456", "--topic", "fr.exemple.news"});
  auto bridge =
      start_bridge({"--apns-key", d + "/apns.p8", "--apns-key-id", "KEY1234567", "--apns-team-id",
                    "TEAM123456", "--apns-topic", "fr.exemple.news", "--apns-endpoint",
                    "https://127.0.0.1:" + std::to_string(apns.port("h2")), "--provider-ca",
                    pki.ca_cert.string()});
  for (const auto& [id, token] :
       std::vector<std::pair<std::string, std::string>>{{"iphone-1", "a1b2c3"},
                                                        {"iphone-2", "d4e5f6"},
                                                        {"iphone-gone", "dead-1"},
                                                        {"iphone-bad", "bad-1"},
                                                        {"iphone-topic", "topic-1"}}) {
    nlohmann::json body{{"platform", "apns"},
                        {"token", token},
                        {"categories", nlohmann::json::array()},
                        {"breaking", true}};
    auto r = bridge->api("PUT", id, body.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
  publish(redis_, make_article("alerte-1", "monde", true));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1))
      << bridge->process().output();
  auto stats = nlohmann::json::parse(http_get(apns.port("admin"), "/__stats")->body);
  EXPECT_EQ(stats["accepted"], 2);
  ASSERT_EQ(stats["notifications"].size(), 2u);
  for (const auto& shown : stats["notifications"]) {
    EXPECT_EQ(shown["collapseId"], "alerte-1");
    EXPECT_EQ(shown["priority"], "10");
    EXPECT_EQ(shown["title"], "Titre alerte-1");
  }
  // 410 and 400 BadDeviceToken: removed; DeviceTokenNotForTopic: dead-lettered, kept.
  EXPECT_EQ(bridge->api("GET", "iphone-gone")->status, 404);
  EXPECT_EQ(bridge->api("GET", "iphone-bad")->status, 404);
  EXPECT_EQ(bridge->api("GET", "iphone-topic")->status, 200);
  EXPECT_EQ(redis_.command_string({"XLEN", "bridge:dead-letters"}), "1");
  EXPECT_EQ(bridge->metric("newspush_bridge_dead_tokens_removed_total"), 2);
}

// Issue 16: APNs refuses a key's provider token changing within 20 minutes, so bridges sharing a
// key (two at once, or one SIGKILLed and its successor) must all send with the one token kept in
// Redis; the fake refuses a second token like APNs (429 TooManyProviderTokenUpdates).
TEST_F(BridgeDaemonTest, BridgesSharingAnApnsKeyUseOneProviderTokenAcrossRestarts) {
  TestPki pki;
  const std::string d = pki.dir.string();
  ASSERT_EQ(run_program({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-out", d + "/apns.p8"})
                .exit_code,
            0);
  ASSERT_EQ(
      run_program({"openssl", "pkey", "-in", d + "/apns.p8", "-pubout", "-out", d + "/apns.pub"})
          .exit_code,
      0);
  NodeServer apns(FAKE_APNS_CJS,
                  {"--cert", pki.server_cert.string(), "--key", pki.server_key.string(),
                   "--public-key", d + "/apns.pub", "--key-id", "KEY1234567", "--team-id",
                   "TEAM123456", "--topic", "fr.exemple.news"});
  const std::vector<std::string> apns_flags{
      "--apns-key", d + "/apns.p8", "--apns-key-id", "KEY1234567", "--apns-team-id",
      "TEAM123456", "--apns-topic", "fr.exemple.news", "--apns-endpoint",
      "https://127.0.0.1:" + std::to_string(apns.port("h2")), "--provider-ca",
      pki.ca_cert.string(), "--claim-after", "1s"};
  auto stats = [&] { return nlohmann::json::parse(http_get(apns.port("admin"), "/__stats")->body); };
  auto wait_accepted = [&](int n) {
    return eventually([&] { return stats()["accepted"].get<int>() >= n; }, kBound);
  };

  // Two bridges at once, neither finding a token in Redis: one signs, the other takes it.
  auto first = start_bridge(apns_flags);
  auto second = start_bridge(apns_flags);
  ASSERT_TRUE(first->process().wait_for_line("bridge_apns_token source=", kBound));
  ASSERT_TRUE(second->process().wait_for_line("bridge_apns_token source=", kBound));
  constexpr int kDevices = 6;
  for (int i = 0; i < kDevices; ++i) {
    nlohmann::json body{{"platform", "apns"},
                        {"token", "a1b2c3" + std::to_string(i)},
                        {"categories", nlohmann::json::array()},
                        {"breaking", true}};
    auto r = first->api("PUT", "iphone-" + std::to_string(i), body.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
  for (int a = 0; a < 4; ++a) publish(redis_, make_article("alerte-" + std::to_string(a), "monde", true));
  ASSERT_TRUE(wait_accepted(4 * kDevices)) << stats().dump() << first->process().output();
  // All four acknowledged before the kill, so that nothing is sent twice afterwards.
  const std::string acked = "newspush_bridge_entries_acked_total";
  ASSERT_TRUE(eventually(
      [&] { return first->metric(acked).value_or(0) + second->metric(acked).value_or(0) >= 4; },
      kBound));
  auto signed_here = [](BridgeProcess& b) {
    return b.process().output().find("bridge_apns_token source=signed") != std::string::npos;
  };
  EXPECT_NE(signed_here(*first), signed_here(*second))
      << first->process().output() << second->process().output();
  auto shared = redis_.command({"HGET", "bridge:apns-token:TEAM123456:KEY1234567", "token"});
  EXPECT_FALSE(shared.text.empty());

  // The first SIGKILLed (its pending entries claimed), a third started: the token stays.
  first->process().kill();
  auto third = start_bridge(apns_flags);
  ASSERT_TRUE(third->process().wait_for_line("bridge_apns_token source=", kBound));
  EXPECT_THAT(third->process().output(), HasSubstr("bridge_apns_token source=shared"));
  for (int a = 4; a < 8; ++a) publish(redis_, make_article("alerte-" + std::to_string(a), "monde", true));
  ASSERT_TRUE(wait_accepted(8 * kDevices)) << stats().dump() << third->process().output();

  auto seen = stats();
  EXPECT_EQ(seen["providerTokens"], 1) << seen.dump();
  EXPECT_EQ(seen["tooManyTokenUpdates"], 0) << seen.dump();
  EXPECT_EQ(seen["accepted"], 8 * kDevices) << seen.dump();
  EXPECT_EQ(redis_.command_string({"XLEN", "bridge:dead-letters"}), "0");
  EXPECT_EQ(redis_.command({"HGET", "bridge:apns-token:TEAM123456:KEY1234567", "token"}).text,
            shared.text);
}

TEST_F(BridgeDaemonTest, RedisThatLostItsDataGetsTheGroupBack) {
  auto bridge = start_bridge();
  register_webpush(*bridge, "w1", {"sport"});
  publish(redis_, make_article("before", "sport"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1));
  redis_.restart();  // no persistence: stream, group and devices are gone
  ASSERT_EQ(redis_.command({"FUNCTION", "LOAD", "REPLACE", functions_library_source()}).text,
            "newspush");
  ASSERT_TRUE(bridge->process().wait_for_line("bridge_group_missing", kBound))
      << bridge->process().output();
  ASSERT_TRUE(bridge->wait_ready());
  ASSERT_TRUE(eventually(
      [&] {
        return redis_.command_string({"EXISTS", "news:log"}) == "1";
      },
      kBound));
  register_webpush(*bridge, "w1", {"sport"});
  publish(redis_, make_article("after", "sport"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 2))
      << bridge->process().output();
  EXPECT_EQ(deliveries("after"), (std::map<std::string, int>{{"w1", 1}}));
}

TEST_F(BridgeDaemonTest, WebPushRateSpreadsTheSendsAndEachDeviceGetsItOnce) {
  auto bridge = start_bridge({"--webpush-rate", "20"});
  constexpr int kDevices = 40;
  std::vector<std::string> names;
  for (int i = 0; i < kDevices; ++i) {
    names.push_back("paced-" + std::to_string(i));
    register_webpush(*bridge, names.back(), {"sport"});
  }
  publish(redis_, make_article("paced", "sport"));
  ASSERT_TRUE(fake_.wait_accepted(kDevices, 60s)) << bridge->process().output();
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1))
      << bridge->process().output();
  expect_each_exactly_once("paced", names);
  auto pushes = fake_.pushes();
  ASSERT_EQ(pushes.size(), static_cast<std::size_t>(kDevices));
  auto [first, last] = std::minmax_element(
      pushes.begin(), pushes.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  // 20 per second with at most a tenth of a second's worth at once: 40 sends take about 1.9 s.
  // Only a lower bound: a loaded machine may well be slower.
  EXPECT_GE(last->at - first->at, 1500ms);
  EXPECT_GT(bridge->metric("newspush_bridge_rate_limit_waits_total").value_or(0), 0);
  EXPECT_TRUE(fake_.errors().empty()) << fake_.errors().front();
}

TEST_F(BridgeDaemonTest, RetractionCancelsSendsHeldByTheRateLimit) {
  auto bridge = start_bridge({"--webpush-rate", "1"});
  constexpr int kDevices = 10;
  for (int i = 0; i < kDevices; ++i) register_webpush(*bridge, "d" + std::to_string(i), {"sport"});
  publish(redis_, make_article("held", "sport"));
  ASSERT_TRUE(fake_.wait_accepted(1, kBound)) << bridge->process().output();
  auto retracted = redis_.command({"FCALL", "newspush_retract", "1", "news:log", "held"});
  ASSERT_NE(retracted.type, RedisValue::Type::error) << retracted.text;
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 2))
      << bridge->process().output();
  // One a second: by the retraction at most a few went out, the rest were held and cancelled.
  auto cancelled = static_cast<int>(
      bridge->metric("newspush_bridge_sends_cancelled_total").value_or(0));
  int sent = 0;
  for (const auto& [name, n] : deliveries("held")) sent += n;
  EXPECT_GE(cancelled, 1);
  EXPECT_LE(sent + cancelled, kDevices);
  EXPECT_LT(sent, kDevices);
}

TEST_F(BridgeDaemonTest, RetryStormOverManyDevicesEndsWithEachDeviceServedOnce) {
  auto bridge = start_bridge();
  constexpr int kDevices = 300;
  std::vector<std::string> names;
  for (int i = 0; i < kDevices; ++i) {
    names.push_back("storm-" + std::to_string(i));
    register_webpush(*bridge, names.back(), {"sport"});
    // The service is overloaded for every device's first two requests: 503s, and for one in
    // three a 429 asking for a second's pause first.
    if (i % 3 == 0)
      fake_.script(names.back(), {FakeAnswer{429, "1"}, FakeAnswer{503}});
    else
      fake_.script(names.back(), {FakeAnswer{503}, FakeAnswer{503}});
  }
  publish(redis_, make_article("storm", "sport"));
  ASSERT_TRUE(fake_.wait_accepted(kDevices, 120s)) << bridge->process().output();
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1))
      << bridge->process().output();
  EXPECT_EQ(pending(redis_), 0);
  expect_each_exactly_once("storm", names);
  EXPECT_EQ(fake_.started(), 3u * kDevices);
  EXPECT_EQ(bridge->metric("newspush_bridge_retries_total{platform=\"webpush\"}"), 2 * kDevices);
  EXPECT_EQ(bridge->metric("newspush_bridge_sent_total{platform=\"webpush\"}"), kDevices);
  EXPECT_EQ(bridge->metric("newspush_bridge_dead_letters_total"), 0);
  EXPECT_EQ(redis_.command_string({"XLEN", "bridge:dead-letters"}), "0");
  EXPECT_TRUE(fake_.errors().empty()) << fake_.errors().front();
}

TEST_F(BridgeDaemonTest, OneBadSubscriptionAmongManyIsDeadLetteredAlone) {
  auto bridge = start_bridge();
  constexpr int kDevices = 150;
  std::vector<std::string> good;
  for (int i = 0; i < kDevices; ++i) {
    std::string name = "d" + std::to_string(i);
    register_webpush(*bridge, name, {"sport"});
    if (i == kDevices / 2)
      fake_.script(name, {FakeAnswer{400}});
    else
      good.push_back(name);
    if (i % 10 == 0 && i != kDevices / 2) fake_.script(name, {FakeAnswer{503}});
  }
  const std::string bad = "d" + std::to_string(kDevices / 2);
  publish(redis_, make_article("a1", "sport"));
  ASSERT_TRUE(bridge->wait_metric("newspush_bridge_entries_acked_total", 1))
      << bridge->process().output();
  EXPECT_EQ(pending(redis_), 0);
  expect_each_exactly_once("a1", good);
  auto letters = redis_.command({"XRANGE", "bridge:dead-letters", "-", "+"});
  ASSERT_EQ(letters.elements.size(), 1u);
  const auto& fields = letters.elements[0].elements[1].elements;
  std::map<std::string, std::string> letter;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    letter[fields[i].text] = fields[i + 1].text;
  EXPECT_EQ(letter["device"], bad);
  EXPECT_EQ(letter["status"], "400");
  EXPECT_EQ(bridge->metric("newspush_bridge_dead_letters_total"), 1);
  EXPECT_EQ(bridge->metric("newspush_bridge_sent_total{platform=\"webpush\"}"), kDevices - 1);
  // Rejected is not dead: the device stays registered.
  EXPECT_EQ(bridge->api("GET", bad)->status, 200);
}

TEST_F(BridgeDaemonTest, RedisRestartedWhileAnArticlesSendsAreInFlight) {
  redis_restart_mid_article(false);
}

// Every remaining send finishes while Redis is down: their records and the entry's
// acknowledgement have to wait for it.
TEST_F(BridgeDaemonTest, RedisDownUntilTheLastSendOfAnArticleIsAnswered) {
  redis_restart_mid_article(true);
}

}  // namespace
}  // namespace newspush::test

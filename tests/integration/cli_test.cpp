// The newspush CLI's publish and retract subcommands against a real redis-server and newspushd
// (which loads the Redis Functions library), observed through a WebSocket subscriber; and
// demo-feed's synthetic reader views, observed through GET /api/v1/trending.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/cli_runner.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

#ifndef NEWSPUSH_CLI_BIN
#error "NEWSPUSH_CLI_BIN must be defined by the build"
#endif

namespace newspush::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

// The cursor after "<verb> " when the output is exactly that one line.
std::string cursor_after(const CliResult& result, const std::string& verb) {
  const std::string prefix = verb + " ";
  if (result.output.rfind(prefix, 0) != 0) return "";
  std::string cursor = result.output.substr(prefix.size());
  while (!cursor.empty() && (cursor.back() == '\n' || cursor.back() == '\r')) cursor.pop_back();
  return cursor;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NewspushdProcess>(redis_.url());
    ASSERT_TRUE(node_->wait_ready()) << node_->output();
  }

  std::unique_ptr<WsClient> subscriber(const std::vector<std::string>& categories) {
    auto client = WsClient::connect(node_->port());
    EXPECT_TRUE(client->next_event_of_type("welcome"));
    EXPECT_TRUE(client->subscribe(categories));
    return client;
  }

  std::vector<std::string> publish_args() { return {"publish", "--redis", redis_.url()}; }

  std::filesystem::path write_file(const std::string& name, const std::string& content) {
    auto path = redis_.dir() / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> node_;
};

TEST_F(CliTest, PublishFromFlagsReachesTheCategorySubscriberWithTheCursor) {
  auto client = subscriber({"sports"});
  auto args = publish_args();
  args.insert(args.end(), {"--id", "cli-1", "--category", "sports", "--title", "Victoire",
                           "--summary", "Un résumé", "--url", "https://example.org/1", "--tag",
                           "foot", "--tag", "ligue-1"});
  CliResult result = run_cli(args);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string cursor = cursor_after(result, "published");
  ASSERT_FALSE(cursor.empty()) << result.output;

  auto event = client->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["cursor"], cursor);
  EXPECT_EQ((*event)["category"], "sports");
  EXPECT_EQ((*event)["breaking"], false);
  const json& article = (*event)["article"];
  EXPECT_EQ(article["id"], "cli-1");
  EXPECT_EQ(article["title"], "Victoire");
  EXPECT_EQ(article["summary"], "Un résumé");
  EXPECT_EQ(article["url"], "https://example.org/1");
  EXPECT_EQ(article["tags"], json({"foot", "ligue-1"}));
  EXPECT_THAT(article["published_at"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
}

TEST_F(CliTest, PublishingTheSameFileTwiceIsADuplicateWithTheSameCursor) {
  auto client = subscriber({"culture"});
  auto path = write_file("article.json", R"({
  "id": "file-1",
  "category": "culture",
  "title": "Exposition",
  "published_at": "2024-05-02T08:45:00+02:00"
}
)");
  auto args = publish_args();
  args.insert(args.end(), {"--file", path.string()});
  CliResult first = run_cli(args);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string cursor = cursor_after(first, "published");
  ASSERT_FALSE(cursor.empty()) << first.output;

  CliResult second = run_cli(args);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(cursor_after(second, "duplicate"), cursor) << second.output;

  // Reformatted, the same article is still a duplicate (it is sent compacted); from stdin too.
  auto compact = write_file(
      "compact.json",
      R"({"id":"file-1","category":"culture","title":"Exposition","published_at":"2024-05-02T08:45:00+02:00"})");
  CliResult piped = run_program({"/bin/sh", "-c", R"(exec "$0" publish --redis "$1" --file - < "$2")",
                                 NEWSPUSH_CLI_BIN, redis_.url(), compact.string()});
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_EQ(cursor_after(piped, "duplicate"), cursor) << piped.output;

  auto event = client->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["cursor"], cursor);
  EXPECT_TRUE(client->no_event_within(300ms));

  // A changed article under the same id is an update.
  CliResult changed = run_cli({"publish", "--redis", redis_.url(), "--json",
                               R"j({"id":"file-1","category":"culture","title":"Exposition (mis à jour)"})j"});
  ASSERT_EQ(changed.exit_code, 0) << changed.output;
  const std::string updated = cursor_after(changed, "updated");
  ASSERT_FALSE(updated.empty()) << changed.output;
  auto update = client->next_event_of_type("article");
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["cursor"], updated);
  EXPECT_EQ((*update)["update"], true);
}

TEST_F(CliTest, BreakingFlagReachesAClientWithoutThatCategory) {
  auto client = subscriber({"sports"});
  auto args = publish_args();
  args.insert(args.end(),
              {"--id", "alert-1", "--category", "politique", "--title", "Alerte", "--breaking"});
  CliResult result = run_cli(args);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string cursor = cursor_after(result, "published");
  ASSERT_FALSE(cursor.empty()) << result.output;
  auto event = client->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["cursor"], cursor);
  EXPECT_EQ((*event)["breaking"], true);
  EXPECT_EQ((*event)["article"]["breaking"], true);
  EXPECT_EQ((*event)["article"]["category"], "politique");
}

TEST_F(CliTest, InvalidArticleExitsTwoNamingTheFieldAndSendsNothing) {
  auto client = subscriber({"sports"});
  auto args = publish_args();
  args.insert(args.end(), {"--id", "bad-1", "--category", "Not A Slug!", "--title", "x"});
  CliResult flags = run_cli(args);
  EXPECT_EQ(flags.exit_code, 2) << flags.output;
  EXPECT_THAT(flags.output, HasSubstr("category"));

  CliResult json_title = run_cli({"publish", "--redis", redis_.url(), "--json",
                                  R"({"id":"bad-2","category":"sports","title":""})"});
  EXPECT_EQ(json_title.exit_code, 2) << json_title.output;
  EXPECT_THAT(json_title.output, HasSubstr("title"));

  CliResult not_json = run_cli({"publish", "--redis", redis_.url(), "--json", "{nope"});
  EXPECT_EQ(not_json.exit_code, 2) << not_json.output;

  CliResult missing = run_cli({"publish", "--redis", redis_.url(), "--id", "x", "--title", "t"});
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("--category"));

  CliResult both = run_cli({"publish", "--redis", redis_.url(), "--json", "{}", "--id", "x"});
  EXPECT_EQ(both.exit_code, 2) << both.output;

  EXPECT_TRUE(client->no_event_within(300ms));
  EXPECT_EQ(redis_.command_string({"EXISTS", "news:log"}), "0");
}

TEST_F(CliTest, RetractReachesTheSubscriberAndASecondRetractExitsOne) {
  auto client = subscriber({"economie"});
  auto args = publish_args();
  args.insert(args.end(), {"--id", "eco-1", "--category", "economie", "--title", "Inflation"});
  CliResult published = run_cli(args);
  ASSERT_EQ(published.exit_code, 0) << published.output;
  ASSERT_TRUE(client->next_event_of_type("article"));

  CliResult retracted = run_cli({"retract", "--redis", redis_.url(), "eco-1"});
  ASSERT_EQ(retracted.exit_code, 0) << retracted.output;
  const std::string cursor = cursor_after(retracted, "retracted");
  ASSERT_FALSE(cursor.empty()) << retracted.output;
  auto event = client->next_event_of_type("retract");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["id"], "eco-1");
  EXPECT_EQ((*event)["category"], "economie");
  EXPECT_EQ((*event)["cursor"], cursor);

  CliResult again = run_cli({"retract", "--redis", redis_.url(), "eco-1"});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_THAT(again.output, HasSubstr("eco-1"));
  EXPECT_THAT(again.output, Not(HasSubstr("retracted ")));

  CliResult no_id = run_cli({"retract", "--redis", redis_.url()});
  EXPECT_EQ(no_id.exit_code, 2) << no_id.output;
}

TEST_F(CliTest, HistoryKeyOptionPublishesIntoThatStream) {
  CliResult result = run_cli({"publish", "--redis", redis_.url(), "--history-key", "other:log",
                              "--json", R"({"id":"k1","category":"sports","title":"t"})"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(redis_.command_string({"XLEN", "other:log"}), "1");
  EXPECT_EQ(redis_.command_string({"EXISTS", "news:log"}), "0");
}

TEST_F(CliTest, DemoFeedKeepsPublishingWhenTheViewsUrlIsDown) {
  auto client = subscriber({"*"});
  const std::string views_url =
      "http://127.0.0.1:" + std::to_string(RedisServer::pick_free_port()) + "/api/v1/views";
  CliResult feed = run_cli({"demo-feed", "--redis", redis_.url(), "--count", "2", "--interval-ms",
                            "100", "--views-url", views_url, "--key", "k"});
  EXPECT_EQ(feed.exit_code, 0) << feed.output;
  EXPECT_THAT(feed.output, HasSubstr("views: POST " + views_url + " failed")) << feed.output;
  EXPECT_TRUE(client->next_event_of_type("article"));
  EXPECT_TRUE(client->next_event_of_type("article"));
}

// The body of GET /api/v1/trending?category=CATEGORY ("*": the overall list) once the list has
// items; nullopt if it has none within the timeout.
std::optional<json> wait_for_trending_items(std::uint16_t port, const std::string& category,
                                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto response = http_get(port, "/api/v1/trending?category=" + category, 2s);
    if (response && response->status == 200) {
      const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (body.is_object() && body.contains("items") && body["items"].is_array() &&
          !body["items"].empty()) {
        return body;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  return std::nullopt;
}

TEST(CliDemoFeedViews, ViewsFromTheDemoFeedFillTheTrendingLists) {
  RedisServer redis;
  const std::string key = "cli-views-test-key-0123";  // newspushd wants 16+ characters
  NewspushdProcess node(redis.url(), {"--publish-key", key, "--trending-interval", "200ms"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  const std::string views_url =
      "http://127.0.0.1:" + std::to_string(node.port()) + "/api/v1/views";

  // --count: the feed exits after its 4 articles and one more batch of views.
  CliResult feed = run_cli({"demo-feed", "--redis", redis.url(), "--count", "4", "--interval-ms",
                            "200", "--views-url", views_url, "--key", key, "--views-per-second",
                            "100"});
  ASSERT_EQ(feed.exit_code, 0) << feed.output;
  EXPECT_THAT(feed.output, Not(HasSubstr("] views: POST "))) << feed.output;  // no failure
  // Its last line: "views: S sent in B batches (C counted, U unknown)".
  const std::regex totals_line(
      R"re(views: [0-9]+ sent in [0-9]+ batch(es)? \(([0-9]+) counted, 0 unknown\))re");
  std::smatch totals;
  ASSERT_TRUE(std::regex_search(feed.output, totals, totals_line)) << feed.output;
  EXPECT_GT(std::stoull(totals[2].str()), 0u) << feed.output;

  const auto overall = wait_for_trending_items(node.port(), "*", 15s);
  ASSERT_TRUE(overall) << "the overall trending list stayed empty\n" << feed.output << "\n"
                       << node.output();
  EXPECT_EQ((*overall)["type"], "trending");
  EXPECT_EQ((*overall)["category"], "*");
  EXPECT_LE((*overall)["items"].size(), 4u);  // only the feed's 4 articles were viewed
  for (const json& item : (*overall)["items"]) {
    EXPECT_THAT(item.value("id", ""), StartsWith("demo-")) << item;
    EXPECT_FALSE(item.value("title", "").empty()) << item;
    EXPECT_THAT(item.value("url", ""), StartsWith("https://example.org/")) << item;
    EXPECT_GT(item.value("score", 0.0), 0.0) << item;
  }

  // The top story's category has its own list, holding only that category.
  const std::string category = (*overall)["items"][0].value("category", "");
  ASSERT_FALSE(category.empty()) << *overall;
  const auto by_category = wait_for_trending_items(node.port(), category, 15s);
  ASSERT_TRUE(by_category) << "the " << category << " list stayed empty\n" << node.output();
  EXPECT_EQ((*by_category)["category"], category);
  for (const json& item : (*by_category)["items"]) EXPECT_EQ(item["category"], category) << item;
}

TEST(CliWatch, TrendingPrintsTheOverallListAsItChanges) {
  RedisServer redis;
  const std::string key = "cli-watch-test-key-0123";
  NewspushdProcess node(redis.url(), {"--publish-key", key, "--trending-interval", "200ms"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  for (const char* id : {"w1", "w2"}) {
    json article = {{"id", id}, {"category", "sports"}, {"title", std::string("Titre ") + id}};
    redis.command({"FCALL", "newspush_publish", "1", "news:log", article.dump()});
  }
  ChildProcess watch({NEWSPUSH_CLI_BIN, "watch", "--url", node.ws_url(), "--trending", "culture"});
  ASSERT_TRUE(watch.wait_for_line("subscribed to: culture", 15s)) << watch.output();
  auto views = [&](const char* id, int n) {
    json batch = json::array();
    for (int i = 0; i < n; ++i) batch.push_back({{"article", id}});
    auto response = http_request(node.port(), "POST", "/api/v1/views", batch.dump(),
                                 {{"Authorization", "Bearer " + key}});
    ASSERT_TRUE(response && response->status == 200);
  };
  views("w1", 1);
  EXPECT_TRUE(watch.wait_for_line("Tendance *: 1. Titre w1 (1)", 15s)) << watch.output();
  views("w2", 3);
  EXPECT_TRUE(watch.wait_for_line("Tendance *: 1. Titre w2 (3)  2. Titre w1 (1)", 15s))
      << watch.output();
}

// A title is text from the wire: its escape sequences must not reach the terminal.
TEST(CliWatch, ControlCharactersInATitleAreNotPrinted) {
  RedisServer redis;
  NewspushdProcess node(redis.url());
  ASSERT_TRUE(node.wait_ready()) << node.output();
  ChildProcess watch({NEWSPUSH_CLI_BIN, "watch", "--url", node.ws_url(), "sports"});
  ASSERT_TRUE(watch.wait_for_line("subscribed to: sports", 15s)) << watch.output();
  json article = {{"id", "esc-1"}, {"category", "sports"},
                  {"title", "Économie\u001b[2J\u001b]0;pwned\u0007 société\u009b"}};
  redis.command({"FCALL", "newspush_publish", "1", "news:log", article.dump()});
  ASSERT_TRUE(watch.wait_for_line("pwned", 15s)) << watch.output();
  const std::string output = watch.output();
  EXPECT_EQ(output.find('\x1b'), std::string::npos) << output;
  EXPECT_EQ(output.find('\x07'), std::string::npos) << output;
  EXPECT_EQ(output.find("\xC2\x9B"), std::string::npos) << output;
  EXPECT_THAT(output, HasSubstr("Économie"));
  EXPECT_THAT(output, HasSubstr("[2J"));
  EXPECT_THAT(output, HasSubstr("]0;pwned"));
  EXPECT_THAT(output, HasSubstr(" société"));
}

TEST(CliDemoFeedViews, ViewsNeedAKeyAndTheHistory) {
  // Cleared, in case the environment running the tests sets it.
  const std::vector<std::string> no_key_env = {"NEWSPUSH_PUBLISH_KEY="};
  CliResult no_key = run_cli({"demo-feed", "--views-url", "http://127.0.0.1:1/api/v1/views"},
                             no_key_env);
  EXPECT_EQ(no_key.exit_code, 2) << no_key.output;
  EXPECT_THAT(no_key.output, HasSubstr("--key"));

  CliResult bare = run_cli(
      {"demo-feed", "--bare", "--views-url", "http://127.0.0.1:1/api/v1/views", "--key", "k"});
  EXPECT_EQ(bare.exit_code, 2) << bare.output;

  CliResult not_http = run_cli({"demo-feed", "--views-url", "ws://127.0.0.1:1/ws", "--key", "k"});
  EXPECT_EQ(not_http.exit_code, 2) << not_http.output;

  CliResult key_alone = run_cli({"demo-feed", "--key", "k"});
  EXPECT_EQ(key_alone.exit_code, 2) << key_alone.output;

  CliResult help = run_cli({"demo-feed", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, StartsWith("Usage: newspush demo-feed"));
  for (const char* flag : {"--views-url", "--key", "--views-per-second", "NEWSPUSH_PUBLISH_KEY"}) {
    EXPECT_THAT(help.output, HasSubstr(flag)) << flag;
  }
}

TEST(CliWithoutFunctions, PublishAndRetractExitOneWithTheLoadHint) {
  RedisServer bare;  // no newspushd: the library was never loaded
  CliResult published = run_cli({"publish", "--redis", bare.url(), "--json",
                                 R"({"id":"a","category":"sports","title":"t"})"});
  EXPECT_EQ(published.exit_code, 1) << published.output;
  EXPECT_THAT(published.output, HasSubstr("functions are not loaded"));
  EXPECT_THAT(published.output, HasSubstr("FUNCTION LOAD REPLACE < server/redis/newspush.lua"));

  CliResult retracted = run_cli({"retract", "--redis", bare.url(), "a"});
  EXPECT_EQ(retracted.exit_code, 1) << retracted.output;
  EXPECT_THAT(retracted.output, HasSubstr("functions are not loaded"));
}

TEST(CliWithoutRedis, UnreachableRedisExitsOne) {
  const std::uint16_t port = RedisServer::pick_free_port();
  CliResult result = run_cli({"publish", "--redis", "redis://127.0.0.1:" + std::to_string(port),
                              "--json", R"({"id":"a","category":"sports","title":"t"})"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("cannot reach"));
}

TEST(CliHelp, HelpListsEverySubcommand) {
  CliResult help = run_cli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"watch", "publish", "retract", "demo-feed"}) {
    EXPECT_THAT(help.output, HasSubstr(std::string("newspush ") + command)) << command;
  }
  CliResult publish_help = run_cli({"publish", "--help"});
  EXPECT_EQ(publish_help.exit_code, 0);
  EXPECT_THAT(publish_help.output, StartsWith("Usage: newspush publish"));
  CliResult retract_help = run_cli({"retract", "--help"});
  EXPECT_EQ(retract_help.exit_code, 0);
  EXPECT_THAT(retract_help.output, StartsWith("Usage: newspush retract"));
}

}  // namespace
}  // namespace newspush::test

// Bad input on every side gets a clear answer and loses nothing: malformed commands, abusive
// frames, invalid articles on Redis, bad HTTP requests, bad flags.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using nlohmann::json;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<NewspushdProcess>(redis_.url(),
                                                 std::vector<std::string>{"--max-frame", "4096"});
    ASSERT_TRUE(server_->wait_ready()) << server_->output();
  }
  std::unique_ptr<WsClient> connect() {
    auto client = WsClient::connect(server_->port());
    EXPECT_TRUE(client->next_event_of_type("welcome"));
    return client;
  }
  // Sends a command and returns the error code it earned ("" if the answer was not an error).
  std::string error_for(WsClient& client, std::string_view command) {
    client.send_text(command);
    auto reply = client.next_event();
    if (!reply || (*reply)["type"] != "error") return "";
    EXPECT_TRUE((*reply)["message"].is_string());
    return (*reply)["code"];
  }
  void expect_still_open(WsClient& client) {
    client.send_text(R"({"op":"ping"})");
    auto pong = client.next_event();
    ASSERT_TRUE(pong) << "connection closed: " << client.read_error();
    EXPECT_EQ((*pong)["type"], "pong");
  }

  RedisServer redis_;
  std::unique_ptr<NewspushdProcess> server_;
};

TEST_F(BadInputTest, RecoverableCommandErrorsKeepTheConnectionOpen) {
  auto client = connect();
  EXPECT_EQ(error_for(*client, "{not json"), "invalid_json");
  EXPECT_EQ(error_for(*client, "[1,2]"), "not_object");
  EXPECT_EQ(error_for(*client, R"({"categories":["sports"]})"), "missing_op");
  EXPECT_EQ(error_for(*client, R"({"op":"dance"})"), "unknown_op");
  EXPECT_EQ(error_for(*client, R"({"op":"subscribe"})"), "bad_categories");
  EXPECT_EQ(error_for(*client, R"({"op":"subscribe","categories":["Sports!"]})"), "bad_category");
  expect_still_open(*client);
  EXPECT_GE(server_->metric("newspush_client_errors_total"), 6);
}

TEST_F(BadInputTest, ARejectedSubscribeChangesNothing) {
  auto client = connect();
  ASSERT_TRUE(client->subscribe({"sports"}));
  EXPECT_EQ(error_for(*client, R"({"op":"subscribe","categories":["culture","BAD"]})"), "bad_category");
  redis_.publish("news:articles", make_article("c1", "culture").dump());
  redis_.publish("news:articles", make_article("s1", "sports").dump());
  auto event = client->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["article"]["id"], "s1");
}

TEST_F(BadInputTest, TooManyCategoriesIsRefused) {
  auto client = connect();
  json many = json::array();
  for (int i = 0; i < 40; ++i) many.push_back("c" + std::to_string(i));
  ASSERT_TRUE(client->subscribe(many.get<std::vector<std::string>>()));
  json more = json::array();
  for (int i = 40; i < 70; ++i) more.push_back("c" + std::to_string(i));
  json command = {{"op", "subscribe"}, {"categories", more}};
  EXPECT_EQ(error_for(*client, command.dump()), "too_many_categories");
  expect_still_open(*client);
}

TEST_F(BadInputTest, BinaryFrameClosesWith1003) {
  auto client = connect();
  client->send_binary("\x01\x02");
  ASSERT_TRUE(client->wait_closed());
  EXPECT_EQ(client->close_code(), 1003);
  EXPECT_EQ(json::parse(client->close_reason())["code"], "binary_frame");
}

TEST_F(BadInputTest, OversizedFrameClosesWith1009) {
  auto client = connect();
  client->try_send_text(std::string(5000, 'x'));
  ASSERT_TRUE(client->wait_closed());
  EXPECT_EQ(client->close_code(), 1009) << client->read_error();
}

TEST_F(BadInputTest, HugeAnnouncedFrameIsRefusedAtTheHeader) {
  auto raw = RawWsClient::connect(server_->port());
  ASSERT_TRUE(raw->send_frame_header(RawWsClient::kText, 1ull << 40));
  EXPECT_EQ(raw->read_close_code(), 1009);
}

TEST_F(BadInputTest, InvalidUtf8ClosesWith1007) {
  auto client = connect();
  client->send_text("{\"op\":\"ping\",\"x\":\"\xC3\x28\"}");
  ASSERT_TRUE(client->wait_closed());
  EXPECT_EQ(client->close_code(), 1007);
}

TEST_F(BadInputTest, ElevenErrorsInARowCloseWith1008) {
  auto client = connect();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(error_for(*client, R"({"op":"nope"})"), "unknown_op") << i;
  client->send_text(R"({"op":"nope"})");
  ASSERT_TRUE(client->wait_closed());
  EXPECT_EQ(client->close_code(), 1008);
  EXPECT_EQ(json::parse(client->close_reason())["code"], "too_many_errors");
  EXPECT_TRUE(server_->wait_metric_at_least("newspush_connections_closed_total{reason=\"too_many_errors\"}", 1));
}

TEST_F(BadInputTest, AbusiveClientDoesNotDisturbOthers) {
  auto good = connect();
  ASSERT_TRUE(good->subscribe({"sports"}));
  auto bad = connect();
  bad->send_binary("zz");
  ASSERT_TRUE(bad->wait_closed());
  redis_.publish("news:articles", make_article("s1", "sports").dump());
  auto event = good->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["article"]["id"], "s1");
}

TEST_F(BadInputTest, InvalidArticlesAreCountedByReasonAndNeverDelivered) {
  auto client = connect();
  ASSERT_TRUE(client->subscribe({"*"}));
  const std::pair<std::string, std::string> bad[] = {
      {"not json at all", "not_json"},
      {"\"a string\"", "not_object"},
      {R"({"category":"sports","title":"t"})", "bad_id"},
      {R"({"id":"x","category":"Sports","title":"t"})", "bad_category"},
      {R"({"id":"x","category":"sports","title":""})", "bad_title"},
      {R"({"id":"x","category":"sports","title":"t","breaking":"yes"})", "bad_breaking"},
      {std::string(300 * 1024, ' '), "too_large"},
      {std::string(100, '[') + std::string(100, ']'), "too_deep"},
      {"{\"id\":\"x\",\"category\":\"sports\",\"title\":\"\xFF\"}", "not_json"},
  };
  for (const auto& [payload, reason] : bad) redis_.publish("news:articles", payload);
  redis_.publish("news:articles", make_article("good", "sports").dump());
  auto event = client->next_event_of_type("article");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["article"]["id"], "good");
  for (const auto& [payload, reason] : bad)
    EXPECT_GE(server_->metric("newspush_invalid_articles_total{reason=\"" + reason + "\"}"), 1) << reason;
  EXPECT_TRUE(server_->process().wait_for_line("article.invalid", 10s));
}

TEST_F(BadInputTest, PlainHttpGetsAnswersNotHangs) {
  auto health = http_get(server_->port(), "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = http_get(server_->port(), "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  auto missing = http_get(server_->port(), "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto plain_ws = http_get(server_->port(), "/ws");
  ASSERT_TRUE(plain_ws);
  EXPECT_EQ(plain_ws->status, 426);
  auto post = http_request(server_->port(), "POST", "/metrics", "x");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST(BadFlags, ExitWithCode2AndNameTheFlag) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--threads", "lots"},
                                        {"--listen", "nowhere"},
                                        {"--redis", "mysql://x"},
                                        {"--what"}}) {
    std::vector<std::string> argv{newspushd_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess process(argv);
    EXPECT_EQ(process.wait_exit(15s), 2) << args[0];
    EXPECT_NE(process.output().find(args[0]), std::string::npos) << process.output();
  }
}

TEST(BadFlags, BadEnvironmentValueExitsWith2) {
  ChildProcess process({newspushd_bin()}, {"NEWSPUSH_MAX_FRAME=huge"});
  EXPECT_EQ(process.wait_exit(15s), 2);
  EXPECT_NE(process.output().find("NEWSPUSH_MAX_FRAME"), std::string::npos) << process.output();
}

// The site is loaded into memory at start-up: a directory too large for that is a start-up error.
TEST(BadFlags, AStaticDirOverTheFileBoundExitsWith2) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("newspush-big-site-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (int i = 0; i <= 1000; ++i) std::ofstream(dir / (std::to_string(i) + ".txt")) << i;
  ChildProcess process({newspushd_bin(), "--listen", "127.0.0.1:0", "--static-dir", dir.string()});
  EXPECT_EQ(process.wait_exit(15s), 2);
  EXPECT_NE(process.output().find("--static-dir"), std::string::npos) << process.output();
  EXPECT_NE(process.output().find("more than 1000 files"), std::string::npos) << process.output();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(BadFlags, HelpAndVersionExit0) {
  ChildProcess help({newspushd_bin(), "--help"});
  EXPECT_EQ(help.wait_exit(15s), 0);
  EXPECT_NE(help.output().find("--max-send-queue"), std::string::npos);
  ChildProcess version({newspushd_bin(), "--version"});
  EXPECT_EQ(version.wait_exit(15s), 0);
  EXPECT_NE(version.output().find("newspushd"), std::string::npos);
}

}  // namespace
}  // namespace newspush::test

// Redis with credentials (requirepass, an ACL user) and a host name to resolve: newspushd and the
// newspush CLI authenticate and select the URL's database on every connection, and the password
// shows up nowhere (logs, /metrics, errors). Real redis-server, real processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netdb.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "tests/support/articles.hpp"
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

using ::testing::HasSubstr;
using ::testing::Not;

// Distinctive, so that finding "Hunter2" anywhere means a password leaked. The ACL user's has a
// ':' and an '@', written %3A and %40 in URLs.
const std::string kDefaultPassword = "default-Hunter2-pw";
const std::string kUserPassword = "acl-Hunter2:p@ss";
const std::string kUserPasswordInUrl = "acl-Hunter2%3Ap%40ss";
const std::string kWrongPassword = "wrong-Hunter2-pw";

RedisServerOptions secured() {
  RedisServerOptions options;
  options.requirepass = kDefaultPassword;
  options.acl_user = "newsroom";
  options.acl_password = kUserPassword;
  return options;
}

std::string url(const RedisServer& redis, const std::string& userinfo, int db,
                const std::string& host = "127.0.0.1") {
  return "redis://" + userinfo + "@" + host + ":" + std::to_string(redis.port()) +
         (db != 0 ? "/" + std::to_string(db) : "");
}


std::unique_ptr<WsClient> subscriber(const NewspushdProcess& node, const std::string& category) {
  auto client = WsClient::connect(node.port());
  EXPECT_TRUE(client->next_event_of_type("welcome"));
  EXPECT_TRUE(client->subscribe({category}));
  return client;
}

int readyz_status(const NewspushdProcess& node) {
  auto response = http_get(node.port(), "/readyz");
  return response ? response->status : 0;
}

TEST(RedisAuth, AclUserOnANonZeroDbGetsReadyAndDeliversWithoutShowingThePassword) {
  RedisServer redis(secured());
  const std::string redis_url = url(redis, "newsroom:" + kUserPasswordInUrl, 5);
  NewspushdProcess node(redis_url);
  ASSERT_TRUE(node.wait_ready()) << node.output();
  auto client = subscriber(node, "sports");

  CliResult published = run_cli({"publish", "--redis", redis_url, "--id", "auth-1", "--category",
                                 "sports", "--title", "Authenticated"});
  ASSERT_EQ(published.exit_code, 0) << published.output;
  EXPECT_THAT(published.output, HasSubstr("published "));
  auto article = client->next_event_of_type("article");
  ASSERT_TRUE(article) << node.output();
  EXPECT_EQ((*article)["article"]["id"], "auth-1");

  // The history went into database 5, not 0.
  EXPECT_EQ(redis.command_string({"EXISTS", "news:log"}), "0");
  EXPECT_EQ(redis.command_string({"EVAL", "redis.call('SELECT', 5) return redis.call('XLEN', KEYS[1])",
                                  "1", "news:log"}),
            "1");

  EXPECT_THAT(node.output(), HasSubstr("redis://newsroom:***@127.0.0.1:" +
                                       std::to_string(redis.port()) + "/5"));
  EXPECT_THAT(node.output(), Not(HasSubstr("Hunter2")));
  EXPECT_THAT(node.metrics_text(), Not(HasSubstr("Hunter2")));
  EXPECT_THAT(published.output, Not(HasSubstr("Hunter2")));
}

TEST(RedisAuth, PasswordOnlyAuthenticatesTheDefaultUser) {
  RedisServer redis(secured());
  NewspushdProcess node(url(redis, ":" + kDefaultPassword, 2));
  ASSERT_TRUE(node.wait_ready()) << node.output();
  auto client = subscriber(node, "culture");
  redis.publish("news:articles", make_article("plain-1", "culture").dump());
  auto article = client->next_event_of_type("article");
  ASSERT_TRUE(article) << node.output();
  EXPECT_EQ((*article)["article"]["id"], "plain-1");
  EXPECT_THAT(node.output(), HasSubstr("redis://:***@127.0.0.1:"));
  EXPECT_THAT(node.output(), Not(HasSubstr("Hunter2")));
}

TEST(RedisAuth, WrongPasswordIsAClearErrorRetriedWithBackoffAndNeverShown) {
  RedisServer redis(secured());
  NewspushdProcess node(url(redis, "newsroom:" + kWrongPassword, 3));
  // Logged, and retried: the process keeps running and tries again.
  ASSERT_TRUE(node.process().wait_for_line_count("redis.auth_failed", 2, 20s))
      << node.output();
  EXPECT_EQ(readyz_status(node), 503);
  EXPECT_TRUE(node.process().running());
  EXPECT_GE(node.metric("newspush_redis_failed_attempts_total"), 2);
  EXPECT_THAT(node.output(), Not(HasSubstr("Hunter2")));
  EXPECT_THAT(node.metrics_text(), Not(HasSubstr("Hunter2")));

  // Once Redis accepts that password, the next retry gets through.
  EXPECT_EQ(redis.command_string({"ACL", "SETUSER", "newsroom", ">" + kWrongPassword}), "OK");
  ASSERT_TRUE(node.wait_ready(20s)) << node.output();
  EXPECT_THAT(node.output(), Not(HasSubstr("Hunter2")));
}

// Whether this machine's resolver knows the name (a debootstrap root has no /etc/hosts).
bool system_resolves(const char* name) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(name, nullptr, &hints, &found);
  if (found) ::freeaddrinfo(found);
  return rc == 0;
}

TEST(RedisAuth, HostNameIsResolved) {
  RedisServer redis;  // listens on 127.0.0.1 only: if localhost gives ::1 first, it is refused
  NewspushdProcess node("redis://localhost:" + std::to_string(redis.port()) + "/1");
  if (!system_resolves("localhost")) {
    // newspushd must agree with the system's resolver: here that means saying so, and retrying.
    std::cout << "[ info ] localhost does not resolve on this machine: checking the error path\n";
    EXPECT_TRUE(node.process().wait_for_line_count("cannot resolve localhost", 2, 15s))
        << node.output();
    return;
  }
  ASSERT_TRUE(node.wait_ready()) << node.output();
  auto client = subscriber(node, "sports");
  redis.publish("news:articles", make_article("named-1", "sports").dump());
  auto article = client->next_event_of_type("article");
  ASSERT_TRUE(article) << node.output();
  EXPECT_EQ((*article)["article"]["id"], "named-1");
  EXPECT_THAT(node.output(), HasSubstr("redis=redis://localhost:" + std::to_string(redis.port())));
}

TEST(RedisAuth, Ipv6LiteralWithCredentials) {
  RedisServerOptions options = secured();
  options.ipv6 = true;
  RedisServer redis(options);
  NewspushdProcess node(url(redis, ":" + kDefaultPassword, 1, "[::1]"));
  ASSERT_TRUE(node.wait_ready()) << node.output();
  EXPECT_THAT(node.output(), HasSubstr("redis=redis://:***@[::1]:" + std::to_string(redis.port())));
  EXPECT_THAT(node.output(), Not(HasSubstr("Hunter2")));
}

TEST(RedisAuth, UnknownHostNameIsRetriedAndReported) {
  NewspushdProcess node("redis://no-such-host.invalid:6379");
  ASSERT_TRUE(node.process().wait_for_line_count("cannot resolve no-such-host.invalid", 2, 20s))
      << node.output();
  EXPECT_EQ(readyz_status(node), 503);
}

TEST(RedisAuth, BadRedisUrlExitsTwoWithOneLineWithoutThePassword) {
  for (const std::string bad : {"redis://newsroom:Hunter2%zz@127.0.0.1", "redis://Hunter2@h",
                                "redis://u:Hunter2@h:port"}) {
    CliResult flag = run_program({newspushd_bin(), "--redis", bad});
    EXPECT_EQ(flag.exit_code, 2) << flag.output;
    EXPECT_THAT(flag.output, HasSubstr("--redis"));
    EXPECT_EQ(std::count(flag.output.begin(), flag.output.end(), '\n'), 1) << flag.output;
    EXPECT_THAT(flag.output, Not(HasSubstr("Hunter2")));
    CliResult variable = run_program({newspushd_bin()}, {"NEWSPUSH_REDIS=" + bad});
    EXPECT_EQ(variable.exit_code, 2) << variable.output;
    EXPECT_THAT(variable.output, HasSubstr("NEWSPUSH_REDIS"));
    EXPECT_THAT(variable.output, Not(HasSubstr("Hunter2")));
    CliResult cli = run_cli({"publish", "--redis", bad, "--id", "x", "--category", "c", "--title",
                             "t"});
    EXPECT_EQ(cli.exit_code, 2) << cli.output;
    EXPECT_THAT(cli.output, HasSubstr("--redis"));
    EXPECT_THAT(cli.output, Not(HasSubstr("Hunter2")));
  }
  CliResult help = run_program({newspushd_bin(), "--help"}, {"NEWSPUSH_REDIS=redis://:Hunter2@h"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("PASSWORD@"));
  EXPECT_THAT(help.output, Not(HasSubstr("Hunter2")));
}

class RedisAuthCli : public ::testing::Test {
 protected:
  void SetUp() override {
    // newspushd loads the functions library (as an authenticated user).
    node_ = std::make_unique<NewspushdProcess>(url(redis_, ":" + kDefaultPassword, 0));
    ASSERT_TRUE(node_->wait_ready()) << node_->output();
  }
  RedisServer redis_{secured()};
  std::unique_ptr<NewspushdProcess> node_;
};

TEST_F(RedisAuthCli, PublishRetractAndDemoFeedAuthenticateAndSelect) {
  const std::string redis_url = url(redis_, "newsroom:" + kUserPasswordInUrl, 4);
  CliResult published = run_cli({"publish", "--redis", redis_url, "--json",
                                 R"({"id":"cli-1","category":"sports","title":"t"})"});
  EXPECT_EQ(published.exit_code, 0) << published.output;
  // The URL may come from NEWSPUSH_REDIS instead (kept out of ps).
  CliResult retracted = run_cli({"retract", "cli-1"}, {"NEWSPUSH_REDIS=" + redis_url});
  EXPECT_EQ(retracted.exit_code, 0) << retracted.output;
  EXPECT_THAT(retracted.output, HasSubstr("retracted "));
  CliResult feed = run_cli({"demo-feed", "--redis", redis_url, "--count", "1", "--interval-ms", "0"});
  EXPECT_EQ(feed.exit_code, 0) << feed.output;
  EXPECT_THAT(feed.output, HasSubstr("connected to redis://newsroom:***@127.0.0.1:"));
  // All three wrote into database 4: publish, retract, and the demo feed's article.
  EXPECT_EQ(redis_.command_string({"EXISTS", "news:log"}), "0");
  EXPECT_EQ(redis_.command_string({"EVAL", "redis.call('SELECT', 4) return redis.call('XLEN', KEYS[1])",
                                   "1", "news:log"}),
            "3");
  for (const auto* result : {&published, &retracted, &feed})
    EXPECT_THAT(result->output, Not(HasSubstr("Hunter2")));
}

TEST_F(RedisAuthCli, WrongOrMissingPasswordNamesTheProblemWithoutThePassword) {
  CliResult wrong = run_cli({"publish", "--redis", url(redis_, "newsroom:" + kWrongPassword, 4),
                             "--id", "x", "--category", "sports", "--title", "t"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_THAT(wrong.output, HasSubstr("refused AUTH: WRONGPASS"));
  EXPECT_THAT(wrong.output, HasSubstr("redis://newsroom:***@127.0.0.1:"));
  EXPECT_THAT(wrong.output, Not(HasSubstr("Hunter2")));

  CliResult missing = run_cli({"retract", "--redis", redis_.url() + "/4", "x"});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("NOAUTH"));
}

}  // namespace
}  // namespace newspush::test

#include "server/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace newspush {
namespace {

struct Env {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

Config parse(std::vector<std::string> args, const Env& env = {}) {
  Config config;
  EXPECT_EQ(parse_config(args, env.lookup(), config), ConfigAction::run);
  return config;
}

std::string error_of(std::vector<std::string> args, const Env& env = {}) {
  Config config;
  try {
    parse_config(args, env.lookup(), config);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsMatchTheDocumentedOnes) {
  Config c = parse({});
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.redis.host, "127.0.0.1");
  EXPECT_EQ(c.redis.port, 6379);
  EXPECT_EQ(c.channel, "news:articles");
  EXPECT_EQ(c.max_send_queue, 1024u * 1024u);
  EXPECT_EQ(c.max_frame, 65536u);
  EXPECT_EQ(c.max_categories, 64u);
  EXPECT_EQ(c.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.log_format, LogFormat::text);
}

TEST(Config, LogFormatFromTheFlagOrTheEnvironment) {
  EXPECT_EQ(parse({"--log-format", "json"}).log_format, LogFormat::json);
  EXPECT_EQ(parse({"--log-format=text"}).log_format, LogFormat::text);
  Env env{{{"NEWSPUSH_LOG_FORMAT", "json"}}};
  EXPECT_EQ(parse({}, env).log_format, LogFormat::json);
}

TEST(Config, FlagsInBothSpellings) {
  Config c = parse({"--listen", "0.0.0.0:9000", "--redis=redis://10.0.0.5:6390/3", "--threads", "4"});
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.redis.host, "10.0.0.5");
  EXPECT_EQ(c.redis.port, 6390);
  EXPECT_EQ(c.redis.db, 3);
  EXPECT_EQ(c.threads, 4u);
}

TEST(Config, IPv6ListenAddress) {
  Config c = parse({"--listen", "[::1]:0"});
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
}

TEST(Config, EnvironmentIsReadAndFlagsWin) {
  Env env{{{"NEWSPUSH_LISTEN", "127.0.0.1:7000"}, {"NEWSPUSH_THREADS", "3"}}};
  Config c = parse({"--threads", "5"}, env);
  EXPECT_EQ(c.listen_port, 7000);
  EXPECT_EQ(c.threads, 5u);
}

TEST(Config, BadValuesNameTheFlag) {
  EXPECT_NE(error_of({"--threads", "many"}).find("--threads"), std::string::npos);
  EXPECT_NE(error_of({"--listen", "nowhere"}).find("--listen"), std::string::npos);
  EXPECT_NE(error_of({"--redis", "http://x"}).find("--redis"), std::string::npos);
  EXPECT_NE(error_of({"--idle-timeout", "0"}).find("--idle-timeout"), std::string::npos);
  EXPECT_NE(error_of({"--log-level", "loud"}).find("--log-level"), std::string::npos);
  EXPECT_NE(error_of({"--log-format", "yaml"}).find("--log-format"), std::string::npos);
  EXPECT_NE(error_of({"--frobnicate"}).find("--frobnicate"), std::string::npos);
  EXPECT_NE(error_of({"--threads"}).find("missing value"), std::string::npos);
}

TEST(Config, RedisCredentials) {
  Config c = parse({"--redis", "redis://newsroom:p%40ss@10.0.0.5:6390/3"});
  EXPECT_EQ(c.redis.username, "newsroom");
  EXPECT_EQ(c.redis.password, "p@ss");
  Env env{{{"NEWSPUSH_REDIS", "redis://:s3cret@redis.interne"}}};
  EXPECT_EQ(parse({}, env).redis.password, "s3cret");
}

TEST(Config, RedisSentinels) {
  // --redis after the sentinel flags keeps them; its host is then unused, its password applies.
  Config c = parse({"--redis-sentinel", "10.0.0.1:26379,[::1]:26380", "--redis-sentinel",
                    "s3.interne:5000", "--redis-master", "news", "--redis",
                    "redis://:pw@unused:1/2"});
  ASSERT_EQ(c.redis.sentinels.size(), 3u);
  EXPECT_EQ(c.redis.sentinels[0].host, "10.0.0.1");
  EXPECT_EQ(c.redis.sentinels[0].port, 26379);
  EXPECT_EQ(c.redis.sentinels[1].host, "::1");
  EXPECT_EQ(c.redis.sentinels[1].port, 26380);
  EXPECT_EQ(c.redis.sentinels[2].host, "s3.interne");
  EXPECT_EQ(c.redis.sentinel_master, "news");
  EXPECT_EQ(c.redis.password, "pw");
  EXPECT_EQ(c.redis.db, 2);
  EXPECT_EQ(describe(c.redis),
            "master news via sentinels 10.0.0.1:26379,[::1]:26380,s3.interne:5000 (user default, "
            "password ***) db 2");
  Env env{{{"NEWSPUSH_REDIS_SENTINELS", "a:1,b:2"}, {"NEWSPUSH_REDIS_MASTER", "m"}}};
  EXPECT_EQ(parse({}, env).redis.sentinels.size(), 2u);
  EXPECT_NE(error_of({"--redis-sentinel", "a:1"}).find("needs --redis-master"), std::string::npos);
  EXPECT_NE(error_of({"--redis-master", "m"}).find("needs --redis-sentinel"), std::string::npos);
  EXPECT_NE(error_of({"--redis-sentinel", "a", "--redis-master", "m"}).find("HOST:PORT"),
            std::string::npos);
  EXPECT_NE(error_of({"--redis-sentinel", "a:0", "--redis-master", "m"}).find("port"),
            std::string::npos);
  EXPECT_NE(error_of({"--redis-sentinel", "::1:5", "--redis-master", "m"}).find("brackets"),
            std::string::npos);
}

TEST(Config, ErrorsNeverRepeatAPassword) {
  for (const char* bad : {"redis://u:Hunter2Secret@h:port", "redis://u:Hunter2Secret%zz@h",
                          "redis://Hunter2Secret@h", "rediss://u:Hunter2Secret@h"}) {
    std::string flag = error_of({"--redis", bad});
    EXPECT_NE(flag.find("--redis"), std::string::npos) << flag;
    EXPECT_EQ(flag.find("Hunter2"), std::string::npos) << flag;
    std::string variable = error_of({}, Env{{{"NEWSPUSH_REDIS", bad}}});
    EXPECT_NE(variable.find("NEWSPUSH_REDIS"), std::string::npos) << variable;
    EXPECT_EQ(variable.find("Hunter2"), std::string::npos) << variable;
  }
  std::string misspelt = error_of({"--redis-url=redis://u:Hunter2Secret@h"});
  EXPECT_NE(misspelt.find("--redis-url"), std::string::npos) << misspelt;
  EXPECT_EQ(misspelt.find("Hunter2"), std::string::npos) << misspelt;
  EXPECT_EQ(error_of({"--publish-key", "Hunter2"}).find("Hunter2"), std::string::npos);
  // Other values are still quoted, which helps spot a typo.
  EXPECT_NE(error_of({"--threads", "many"}).find("'many'"), std::string::npos);
}

TEST(Config, BadEnvironmentNamesTheVariable) {
  Env env{{{"NEWSPUSH_MAX_FRAME", "-1"}}};
  EXPECT_NE(error_of({}, env).find("NEWSPUSH_MAX_FRAME"), std::string::npos);
}

TEST(Config, SendQueueMustHoldTheLargestArticle) {
  EXPECT_NE(error_of({"--max-send-queue", "65536", "--max-article", "65536"}).find("--max-send-queue"),
            std::string::npos);
  Config c = parse({"--max-send-queue", "65536", "--max-article", "16384"});
  EXPECT_EQ(c.max_send_queue, 65536u);
}

TEST(Config, HelpAndVersion) {
  Config c;
  EXPECT_EQ(parse_config({"--help"}, Env{}.lookup(), c), ConfigAction::help);
  EXPECT_EQ(parse_config({"--version"}, Env{}.lookup(), c), ConfigAction::version);
  std::string help = help_text();
  for (const char* name : {"--listen", "NEWSPUSH_LISTEN", "--redis", "NEWSPUSH_REDIS", "--threads",
                           "--max-send-queue", "--drain-timeout", "--log-level", "--log-format",
                           "NEWSPUSH_LOG_FORMAT", "--proxy-protocol", "NEWSPUSH_PROXY_PROTOCOL",
                           "--tls-cert", "NEWSPUSH_TLS_CERT", "--tls-key", "NEWSPUSH_TLS_KEY"})
    EXPECT_NE(help.find(name), std::string::npos) << name;
}

}  // namespace

TEST(Config, TrendingDefaultsAndDurations) {
  Config c = parse({});
  EXPECT_EQ(c.trending_interval, std::chrono::seconds(2));
  EXPECT_EQ(c.trending_half_life, std::chrono::hours(2));
  EXPECT_EQ(c.trending_size, 10u);
  EXPECT_EQ(c.trending_channel, "news:trending");
  c = parse({"--trending-interval", "250ms", "--trending-half-life=30m", "--trending-size", "5"},
            Env{{{"NEWSPUSH_TRENDING_CHANNEL", "site:trending"}}});
  EXPECT_EQ(c.trending_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(c.trending_half_life, std::chrono::minutes(30));
  EXPECT_EQ(c.trending_size, 5u);
  EXPECT_EQ(c.trending_channel, "site:trending");
  EXPECT_NE(error_of({"--trending-interval", "2 s"}).find("--trending-interval"), std::string::npos);
  EXPECT_FALSE(error_of({"--trending-interval", "10ms"}).empty());  // below the minimum
  EXPECT_FALSE(error_of({"--trending-half-life", "0"}).empty());
  EXPECT_FALSE(error_of({"--trending-size", "0"}).empty());
}

TEST(Config, DurationsTakeAUnit) {
  EXPECT_EQ(parse_duration("2"), std::chrono::seconds(2));
  EXPECT_EQ(parse_duration("2s"), std::chrono::seconds(2));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_duration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(parse_duration("2h"), std::chrono::hours(2));
  for (const char* bad : {"", "0", "-1s", "1d", "s", "1.5s", "99999999999999h"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}


TEST(Config, ReusePortIsABoolean) {
  EXPECT_FALSE(parse({}).reuse_port);
  EXPECT_TRUE(parse({"--reuse-port", "true"}).reuse_port);
  EXPECT_TRUE(parse({}, Env{{{"NEWSPUSH_REUSE_PORT", "1"}}}).reuse_port);
  EXPECT_FALSE(parse({"--reuse-port=off"}, Env{{{"NEWSPUSH_REUSE_PORT", "1"}}}).reuse_port);
  EXPECT_FALSE(error_of({"--reuse-port", "maybe"}).empty());
  // Alone, a switch means true, and the next flag stays a flag.
  EXPECT_TRUE(parse({"--reuse-port"}).reuse_port);
  EXPECT_EQ(parse({"--reuse-port", "--threads", "3"}).threads, 3u);
}

TEST(Config, TlsNeedsBothTheCertificateAndTheKey) {
  Config none = parse({});
  EXPECT_TRUE(none.tls_cert.empty());
  EXPECT_TRUE(none.tls_key.empty());
  Config both = parse({"--tls-cert", "/etc/news/chain.pem", "--tls-key", "/etc/news/key.pem"});
  EXPECT_EQ(both.tls_cert, "/etc/news/chain.pem");
  EXPECT_EQ(both.tls_key, "/etc/news/key.pem");
  EXPECT_EQ(parse({}, Env{{{"NEWSPUSH_TLS_CERT", "c.pem"}, {"NEWSPUSH_TLS_KEY", "k.pem"}}}).tls_key,
            "k.pem");
  EXPECT_EQ(error_of({"--tls-cert", "c.pem"}), "--tls-cert: needs --tls-key, the certificate's private key");
  EXPECT_EQ(error_of({"--tls-key", "k.pem"}), "--tls-key: needs --tls-cert, the certificate it is the key of");
  EXPECT_NE(error_of({"--tls-cert", ""}).find("--tls-cert"), std::string::npos);
  // Only the pair is checked here: whether the files hold a usable chain and key is checked
  // when newspushd loads them (tests/integration/tls_test.cpp).
  Config lone;
  lone.tls_key = "k.pem";
  EXPECT_THROW(check_config(lone), ConfigError);
}

TEST(Config, ProxyProtocolIsASwitchThatNeedsATrustedProxy) {
  EXPECT_FALSE(parse({}).proxy_protocol);
  Config config = parse({"--proxy-protocol", "--trusted-proxy", "10.0.0.2"});
  EXPECT_TRUE(config.proxy_protocol);
  EXPECT_EQ(config.trusted_proxies, std::vector<std::string>{"10.0.0.2"});
  EXPECT_FALSE(parse({"--proxy-protocol", "off", "--trusted-proxy", "10.0.0.2"}).proxy_protocol);
  EXPECT_TRUE(parse({}, Env{{{"NEWSPUSH_PROXY_PROTOCOL", "1"}, {"NEWSPUSH_TRUSTED_PROXIES", "::1"}}})
                  .proxy_protocol);
  // Believing a header from any peer would let every client choose its own address.
  EXPECT_NE(error_of({"--proxy-protocol"}).find("--trusted-proxy"), std::string::npos);
}


TEST(Config, RedisTimeoutIsADuration) {
  EXPECT_EQ(parse({}).redis_timeout, std::chrono::seconds(10));
  EXPECT_EQ(parse({"--redis-timeout", "500ms"}).redis_timeout, std::chrono::milliseconds(500));
  EXPECT_FALSE(error_of({"--redis-timeout", "10ms"}).empty());  // below the minimum
}

}  // namespace newspush

namespace newspush {

TEST(Config, PublishReplicasIsOffByDefaultAndBounded) {
  EXPECT_EQ(parse({}).publish_replicas, 0u);
  EXPECT_EQ(parse({}).publish_replicas_timeout, std::chrono::seconds(1));
  Config config = parse({"--publish-replicas", "2", "--publish-replicas-timeout", "250ms"});
  EXPECT_EQ(config.publish_replicas, 2u);
  EXPECT_EQ(config.publish_replicas_timeout, std::chrono::milliseconds(250));
  EXPECT_NE(error_of({"--publish-replicas", "-1"}).find("--publish-replicas"), std::string::npos);
  EXPECT_FALSE(error_of({"--publish-replicas", "65"}).empty());
  EXPECT_FALSE(error_of({"--publish-replicas-timeout", "5ms"}).empty());  // below the minimum
  EXPECT_FALSE(error_of({"--publish-replicas-timeout", "2m"}).empty());  // above the maximum
}

}  // namespace newspush

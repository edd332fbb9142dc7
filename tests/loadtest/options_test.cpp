#include "loadtest/options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace newspush::loadtest {
namespace {

Options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "newspush-loadtest");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(LoadtestOptionsTest, PlainByDefault) {
  const auto options = parse({});
  EXPECT_FALSE(options.tls);
  EXPECT_EQ(options.url, "ws://127.0.0.1:8080/ws");
}

TEST(LoadtestOptionsTest, TlsMakesTheDefaultUrlSecureForEitherTransport) {
  auto options = parse({"--tls"});
  EXPECT_TRUE(options.tls);
  EXPECT_TRUE(options.tls_ca.empty());
  EXPECT_EQ(options.url, "wss://127.0.0.1:8080/ws");
  options = parse({"--tls", "--transport", "sse", "--tls-ca", "/tmp/ca.pem"});
  EXPECT_EQ(options.url, "https://127.0.0.1:8080/sse");
  EXPECT_EQ(options.tls_ca, "/tmp/ca.pem");
}

TEST(LoadtestOptionsTest, ASecureUrlTurnsTlsOn) {
  EXPECT_TRUE(parse({"--url", "wss://127.0.0.1:9000/ws"}).tls);
  EXPECT_TRUE(parse({"--transport", "sse", "--url", "https://127.0.0.1:9000/sse"}).tls);
  EXPECT_FALSE(parse({"--url", "ws://127.0.0.1:9000/ws"}).tls);
}

TEST(LoadtestOptionsTest, TlsMistakesAreRefused) {
  EXPECT_THROW(parse({"--tls-ca", "/tmp/ca.pem"}), OptionsError);  // without --tls
  EXPECT_THROW(parse({"--tls", "--target", "nchan"}), OptionsError);
  EXPECT_THROW(parse({"--target", "nchan", "--url", "wss://127.0.0.1:9000/sub/"}), OptionsError);
}

}  // namespace
}  // namespace newspush::loadtest

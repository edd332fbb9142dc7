#pragma once
// For the tests of the Redis Functions library (server/redis/newspush.lua) itself: its source,
// read from the tree at run time so editing it needs no rebuild, and a plain subscriber to watch
// what the functions announce.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/redis_server.hpp"

struct redisContext;

namespace newspush::test {

// The text of server/redis/newspush.lua; throws std::runtime_error if it cannot be read.
std::string functions_library_source();

// A hiredis connection in subscribe mode: every message arrives in order, so "nothing was
// published" is asserted by publishing something else and seeing it come next.
class ChannelSubscriber {
 public:
  ChannelSubscriber(std::uint16_t port, const std::string& channel);
  ~ChannelSubscriber();
  ChannelSubscriber(const ChannelSubscriber&) = delete;
  ChannelSubscriber& operator=(const ChannelSubscriber&) = delete;

  // The next message's payload; throws after a 5 s socket timeout.
  std::string next();

 private:
  redisContext* context_ = nullptr;
};

// A private redis-server with the library loaded, and FCALL on the history key news:log.
class FunctionsLibraryTest : public ::testing::Test {
 protected:
  explicit FunctionsLibraryTest(RedisServerOptions options = {}) : redis_(options) {}

  void SetUp() override { load(); }

  // Loads (again: after a restart without persistence) the library from the source tree.
  void load() {
    RedisValue loaded =
        redis_.command({"FUNCTION", "LOAD", "REPLACE", functions_library_source()});
    ASSERT_EQ(loaded.type, RedisValue::Type::string) << loaded.text;
    ASSERT_EQ(loaded.text, "newspush");
  }

  RedisValue fcall(const std::string& function, std::vector<std::string> args = {},
                   bool read_only = false) {
    std::vector<std::string> argv{read_only ? "FCALL_RO" : "FCALL", function, "1", kLogKey};
    argv.insert(argv.end(), args.begin(), args.end());
    return redis_.command(argv);
  }

  static constexpr const char* kLogKey = "news:log";
  RedisServer redis_;
};

}  // namespace newspush::test

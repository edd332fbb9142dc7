#pragma once
// For the tests of the Redis Functions library (server/redis/newspush.lua) itself: its source,
// read from the tree at run time so editing it needs no rebuild, and a plain subscriber to watch
// what the functions announce.
#include <cstdint>
#include <memory>
#include <string>

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

}  // namespace newspush::test

#include "tests/support/functions_library.hpp"

#include <hiredis/hiredis.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace newspush::test {

std::string functions_library_source() {
  std::ifstream in(NEWSPUSH_LUA_FILE, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " NEWSPUSH_LUA_FILE);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ChannelSubscriber::ChannelSubscriber(std::uint16_t port, const std::string& channel)
    : context_(redisConnect("127.0.0.1", port)) {
  if (!context_ || context_->err) {
    if (context_) redisFree(context_);
    throw std::runtime_error("cannot connect subscriber");
  }
  redisSetTimeout(context_, {5, 0});
  auto* reply = static_cast<redisReply*>(
      redisCommand(context_, "SUBSCRIBE %b", channel.data(), channel.size()));
  if (!reply) {
    redisFree(context_);
    throw std::runtime_error("SUBSCRIBE failed");
  }
  freeReplyObject(reply);
}

ChannelSubscriber::~ChannelSubscriber() { redisFree(context_); }

std::string ChannelSubscriber::next() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr)
    throw std::runtime_error("no message");
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(static_cast<redisReply*>(raw),
                                                                freeReplyObject);
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
    throw std::runtime_error("unexpected reply");
  return std::string(reply->element[2]->str, reply->element[2]->len);
}

}  // namespace newspush::test

// newspushd's real path: PUBLISH news:articles <article> on Redis (hiredis, blocking).
#include <hiredis/hiredis.h>

#include <stdexcept>

#include "loadtest/publish_sink.hpp"

namespace newspush::loadtest {
namespace {

class RedisSink final : public PublishSink {
 public:
  RedisSink(RedisEndpoint redis, std::string channel)
      : redis_(std::move(redis)), channel_(std::move(channel)) {}
  ~RedisSink() override { disconnect(); }

  void connect() override {
    if (!try_connect()) throw std::runtime_error("cannot connect to " + to_url(redis_));
  }

  Outcome publish(unsigned, std::string_view article) override {
    if (context_ == nullptr && !try_connect()) return Outcome::failed;
    auto* reply =
        static_cast<redisReply*>(redisCommand(context_, "PUBLISH %b %b", channel_.data(),
                                              channel_.size(), article.data(), article.size()));
    if (reply == nullptr) {  // connection broken: reconnect on the next article
      disconnect();
      return Outcome::failed;
    }
    Outcome outcome = Outcome::failed;
    if (reply->type == REDIS_REPLY_INTEGER)
      outcome = reply->integer == 0 ? Outcome::unheard : Outcome::heard;
    freeReplyObject(reply);
    return outcome;
  }

 private:
  bool try_connect() {
    const timeval timeout{2, 0};
    context_ = redisConnectWithTimeout(redis_.host.c_str(), redis_.port, timeout);
    if (context_ != nullptr && context_->err != 0) disconnect();
    return context_ != nullptr;
  }

  void disconnect() {
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
  }

  RedisEndpoint redis_;
  std::string channel_;
  redisContext* context_ = nullptr;
};

}  // namespace

std::unique_ptr<PublishSink> make_redis_sink(RedisEndpoint redis, std::string channel) {
  return std::make_unique<RedisSink>(std::move(redis), std::move(channel));
}

}  // namespace newspush::loadtest

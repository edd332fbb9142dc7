#pragma once
// Where the built-in publisher hands each article: Redis PUBLISH on the channel newspushd listens
// to, or an HTTP POST to Nchan's publisher location (one channel per stream). Used from the
// publisher's thread only.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/redis_url.hpp"

namespace newspush::loadtest {

class PublishSink {
 public:
  enum class Outcome {
    heard,    // accepted, and someone was subscribed
    unheard,  // accepted, but nobody was subscribed (Redis: 0 receivers; Nchan: 202)
    failed,   // not published; the sink reconnects on the next article
  };

  virtual ~PublishSink() = default;
  // Connects once; throws std::runtime_error if the endpoint is unreachable.
  virtual void connect() = 0;
  virtual Outcome publish(unsigned stream, std::string_view article) = 0;
  // Subscribers the server reports on a stream's channel, where it tells (Nchan); nullopt if not.
  virtual std::optional<std::uint64_t> subscribers(unsigned /*stream*/) { return std::nullopt; }
};

std::unique_ptr<PublishSink> make_redis_sink(RedisEndpoint redis, std::string channel);
// publish_url: http://HOST:PORT/PREFIX/ ; articles go to PREFIX/<stream_name(stream)>.
std::unique_ptr<PublishSink> make_nchan_sink(const std::string& publish_url);

}  // namespace newspush::loadtest

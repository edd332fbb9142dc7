#pragma once
// Keeps one Redis connection subscribed to a set of channels, for as long as it runs:
// disconnected -> connecting -> subscribing -> subscribed, and back to disconnected on any
// failure, then a reconnect after a capped, jittered backoff.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_url.hpp"

namespace newspush::redis {

enum class SubscriberState { disconnected, connecting, subscribing, subscribed };
std::string_view to_string(SubscriberState state);

struct SubscriberOptions {
  RedisEndpoint endpoint;
  std::vector<std::string> channels;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_cap{5000};
  // Liveness check, because PING is broken on a subscribed connection in hiredis 0.14: every
  // interval a second (command) connection PUBLISHes on heartbeat_channel, to which the
  // subscription is also subscribed; if nothing arrives there for 3 intervals while that
  // command connection is up, the subscription is dropped and re-established. 0 = off.
  // Messages on heartbeat_channel are never passed to on_message.
  std::chrono::milliseconds heartbeat_interval{5000};
  std::string heartbeat_channel = "newspush:heartbeat";
};

struct SubscriberHandlers {
  // Called on the subscriber's executor; payload is only valid during the call.
  std::function<void(std::string_view channel, std::string_view payload)> on_message;
  // Called on every state transition (after it happened).
  std::function<void(SubscriberState)> on_state;
};

struct SubscriberStats {
  std::uint64_t connects = 0;         // reached "subscribed"
  std::uint64_t disconnects = 0;      // lost an established connection
  std::uint64_t failed_attempts = 0;  // connect or subscribe attempts that failed
};

// start() may be called from any thread. stop() and the destructor must run on the executor's
// thread, or while no thread runs the executor (e.g. after io_context::run() returned).
class RedisSubscriber {
 public:
  // executor must be single-threaded (or a strand): every callback runs on it.
  RedisSubscriber(boost::asio::any_io_executor executor, SubscriberOptions options,
                  SubscriberHandlers handlers);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  void start();
  // Disconnects and stops reconnecting; no handler is called afterwards.
  void stop();

  // A failover moved the primary to `primary` ("HOST:PORT"): unless already subscribed there, the
  // subscription (and its heartbeat connection) is dropped and made again at once, which asks
  // the sentinels anew. Executor thread.
  void follow_primary(const std::string& primary, const std::string& why);

  // state(), stats() and last_error() may be called from any thread.
  SubscriberState state() const;
  SubscriberStats stats() const;
  // Why the last connection or attempt ended ("" if none did yet), for the server's log.
  std::string last_error() const;
  // "HOST:PORT" of the server subscribed to (the primary the sentinels named, in sentinel mode).
  std::string address() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace newspush::redis

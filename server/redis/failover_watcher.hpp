#pragma once
// Listens to the sentinels' +switch-master announcements for one master name, so that every
// Redis connection can move to a new primary the moment a failover is decided, instead of
// waiting for the old link to time out. One sentinel at a time: if the one listened to dies or
// refuses, the next is tried after a capped, jittered backoff (round robin, forever).
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/redis_url.hpp"

namespace newspush::redis {

struct FailoverWatcherOptions {
  std::vector<RedisEndpoint::HostPort> sentinels;
  std::string master;  // --redis-master
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_cap{5000};
};

struct FailoverWatcherHandlers {
  // The sentinels switched `master` from old_primary to new_primary (both "HOST:PORT").
  std::function<void(const std::string& old_primary, const std::string& new_primary)> on_switch;
  // Listening (sentinel "HOST:PORT") or not any more (why), for the log.
  std::function<void(const std::string& sentinel)> on_listening;
  std::function<void(const std::string& sentinel, const std::string& why)> on_lost;
};

// Lives on one single-threaded executor; start(), stop(), the destructor and the handlers run
// there.
class FailoverWatcher {
 public:
  FailoverWatcher(boost::asio::any_io_executor executor, FailoverWatcherOptions options,
                  FailoverWatcherHandlers handlers);
  ~FailoverWatcher();
  FailoverWatcher(const FailoverWatcher&) = delete;
  FailoverWatcher& operator=(const FailoverWatcher&) = delete;
  void start();
  void stop();

  // Parses a +switch-master payload "NAME OLD-IP OLD-PORT NEW-IP NEW-PORT"; false if malformed.
  static bool parse_switch(std::string_view payload, std::string* master, std::string* old_primary,
                           std::string* new_primary);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

// "HOST:PORT", with [ ] around an IPv6 address: the form AsyncRedisConnection::address() uses.
std::string host_port_text(const std::string& host, const std::string& port);

}  // namespace newspush::redis

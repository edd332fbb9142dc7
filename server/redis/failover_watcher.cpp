#include "server/redis/failover_watcher.hpp"

#include <boost/asio/steady_timer.hpp>
#include <random>
#include <sstream>

#include "common/redis/asio_adapter.hpp"
#include "common/redis/backoff.hpp"

namespace newspush::redis {

namespace asio = boost::asio;

namespace {
constexpr const char* kSwitchChannel = "+switch-master";

std::string_view text_of(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS) return {};
  return {reply->str, reply->len};
}
}  // namespace

std::string host_port_text(const std::string& host, const std::string& port) {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + port;
}

bool FailoverWatcher::parse_switch(std::string_view payload, std::string* master,
                                   std::string* old_primary, std::string* new_primary) {
  std::istringstream words{std::string(payload)};
  std::string name, old_host, old_port, new_host, new_port, extra;
  if (!(words >> name >> old_host >> old_port >> new_host >> new_port) || (words >> extra))
    return false;
  *master = name;
  *old_primary = host_port_text(old_host, old_port);
  *new_primary = host_port_text(new_host, new_port);
  return true;
}

class FailoverWatcher::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, FailoverWatcherOptions options,
       FailoverWatcherHandlers handlers)
      : executor_(executor),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        backoff_(options_.backoff_initial, options_.backoff_cap, std::random_device{}()),
        retry_timer_(executor),
        subscribe_deadline_(executor) {}

  void start() {
    if (!stopped_ || options_.sentinels.empty()) return;
    stopped_ = false;
    listen_next();
  }

  void stop() {
    stopped_ = true;
    ++attempt_;
    retry_timer_.cancel();
    subscribe_deadline_.cancel();
    if (connection_) connection_->close();
    connection_.reset();
  }

 private:
  std::string current_sentinel() const {
    const auto& s = options_.sentinels[current_];
    return host_port_text(s.host, std::to_string(s.port));
  }

  template <typename Fn>
  auto guarded(Fn fn) {
    return [weak = weak_from_this(), attempt = attempt_, fn](auto&&... args) {
      auto self = weak.lock();
      if (self && !self->stopped_ && self->attempt_ == attempt) fn(*self, args...);
    };
  }

  void listen_next() {
    ++attempt_;
    listening_ = false;
    RedisEndpoint target;  // sentinels get no AUTH, as for the primary lookup
    target.host = options_.sentinels[current_].host;
    target.port = options_.sentinels[current_].port;
    connection_ = AsyncRedisConnection::create(executor_);
    connection_->connect(
        target, options_.connect_timeout,
        {.on_connected = guarded([](Impl& self) { self.on_connected(); }),
         .on_closed = guarded([](Impl& self, const std::string& why) { self.lost(why); })});
  }

  void on_connected() {
    if (!connection_->subscribe({kSwitchChannel},
                                guarded([](Impl& self, redisReply* reply) { self.on_push(reply); })))
      return lost("cannot send SUBSCRIBE");
    subscribe_deadline_.expires_after(options_.connect_timeout);
    subscribe_deadline_.async_wait([weak = weak_from_this(), attempt = attempt_](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped_ || self->attempt_ != attempt || self->listening_) return;
      self->lost("SUBSCRIBE not confirmed in time");
    });
  }

  void on_push(redisReply* reply) {
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
    std::string_view kind = text_of(reply->element[0]);
    if (kind == "subscribe") {
      listening_ = true;
      subscribe_deadline_.cancel();
      backoff_.reset();
      if (handlers_.on_listening) handlers_.on_listening(current_sentinel());
      return;
    }
    if (kind != "message") return;
    std::string master, old_primary, new_primary;
    if (!parse_switch(text_of(reply->element[2]), &master, &old_primary, &new_primary)) return;
    // Other masters watched by the same sentinels are not ours.
    if (master != options_.master || !handlers_.on_switch) return;
    // Copies: the handler may stop this watcher (and free the reply's connection).
    auto on_switch = handlers_.on_switch;
    on_switch(old_primary, new_primary);
  }

  void lost(const std::string& why) {
    std::string sentinel = current_sentinel();
    ++attempt_;
    subscribe_deadline_.cancel();
    if (connection_) connection_->close();
    connection_.reset();
    // Said once per lost listener, not once per failed retry of a sentinel that stays down.
    if (listening_ && handlers_.on_lost) handlers_.on_lost(sentinel, why);
    listening_ = false;
    current_ = (current_ + 1) % options_.sentinels.size();
    retry_timer_.expires_after(backoff_.next());
    retry_timer_.async_wait([weak = weak_from_this(), attempt = attempt_](auto ec) {
      auto self = weak.lock();
      if (!ec && self && !self->stopped_ && self->attempt_ == attempt) self->listen_next();
    });
  }

  asio::any_io_executor executor_;
  FailoverWatcherOptions options_;
  FailoverWatcherHandlers handlers_;
  Backoff backoff_;
  asio::steady_timer retry_timer_;
  asio::steady_timer subscribe_deadline_;
  std::shared_ptr<AsyncRedisConnection> connection_;
  std::size_t current_ = 0;
  std::uint64_t attempt_ = 0;  // bumped per connection: late callbacks of an older one are dropped
  bool listening_ = false;
  bool stopped_ = true;
};

FailoverWatcher::FailoverWatcher(asio::any_io_executor executor, FailoverWatcherOptions options,
                                 FailoverWatcherHandlers handlers)
    : impl_(std::make_shared<Impl>(executor, std::move(options), std::move(handlers))) {}

FailoverWatcher::~FailoverWatcher() { impl_->stop(); }
void FailoverWatcher::start() { impl_->start(); }
void FailoverWatcher::stop() { impl_->stop(); }

}  // namespace newspush::redis

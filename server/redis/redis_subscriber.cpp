#include "server/redis/redis_subscriber.hpp"

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <random>
#include <set>

#include "common/redis/asio_adapter.hpp"
#include "common/redis/backoff.hpp"

namespace newspush::redis {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string_view to_string(SubscriberState state) {
  switch (state) {
    case SubscriberState::disconnected:
      return "disconnected";
    case SubscriberState::connecting:
      return "connecting";
    case SubscriberState::subscribing:
      return "subscribing";
    case SubscriberState::subscribed:
      return "subscribed";
  }
  return "unknown";
}

namespace {

std::string_view as_view(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS) return {};
  return {reply->str, reply->len};
}

std::uint64_t random_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

class RedisSubscriber::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, SubscriberOptions options, SubscriberHandlers handlers)
      : executor_(executor),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        backoff_(options_.backoff_initial, options_.backoff_cap, random_seed()),
        retry_timer_(executor),
        deadline_timer_(executor),
        heartbeat_timer_(executor) {
    std::set<std::string> unique(options_.channels.begin(), options_.channels.end());
    if (heartbeat_enabled()) unique.insert(options_.heartbeat_channel);
    channels_.assign(unique.begin(), unique.end());
    heartbeat_tag_ = "heartbeat " + std::to_string(random_seed() % 1000000007) + " ";
  }

  void start() {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->started_ || self->stopped_) return;
      self->started_ = true;
      self->connect_now();
    });
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    retry_timer_.cancel();
    deadline_timer_.cancel();
    stop_heartbeat();
    if (subscription_) subscription_->close();
    subscription_.reset();
    state_ = SubscriberState::disconnected;  // silently: no handler calls after stop()
  }

  void follow_primary(const std::string& primary, const std::string& why) {
    if (!started_ || stopped_) return;
    if (state_ == SubscriberState::subscribed && subscription_ &&
        subscription_->address() == primary)
      return;  // a READONLY or a lost link already brought us there
    if (subscription_ || state_ != SubscriberState::disconnected) connection_lost(why);
    // Not after a backoff: the sentinels already know where the primary is.
    backoff_.reset();
    ++attempt_;
    retry_timer_.cancel();
    connect_now();
  }

  SubscriberState state() const { return state_; }
  SubscriberStats stats() const {
    return {connects_.load(), disconnects_.load(), failed_attempts_.load()};
  }
  std::string last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
  }
  std::string address() const {
    std::lock_guard lock(error_mutex_);
    return address_;
  }

 private:
  bool heartbeat_enabled() const { return options_.heartbeat_interval.count() > 0; }

  template <typename Fn>
  auto weak_callback(Fn fn) {
    return [weak = weak_from_this(), fn](auto&&... args) {
      if (auto self = weak.lock(); self && !self->stopped_) (self.get()->*fn)(args...);
    };
  }

  // Re-arms `timer`; the handler only runs for the attempt that armed it, since a cancelled
  // timer whose handler was already queued still completes successfully.
  void arm(asio::steady_timer& timer, std::chrono::milliseconds delay, void (Impl::*fn)()) {
    timer.expires_after(delay);
    timer.async_wait(
        [weak = weak_from_this(), attempt = attempt_, fn](boost::system::error_code ec) {
          auto self = weak.lock();
          if (ec || !self || self->stopped_ || self->attempt_ != attempt) return;
          (self.get()->*fn)();
        });
  }

  void set_state(SubscriberState state) {
    state_ = state;
    if (handlers_.on_state) handlers_.on_state(state);
  }

  void connect_now() {
    ++attempt_;
    confirmed_.clear();
    set_state(SubscriberState::connecting);
    if (stopped_) return;  // on_state may stop us
    subscription_ = AsyncRedisConnection::create(executor_);
    subscription_->connect(options_.endpoint, options_.connect_timeout,
                           {.on_connected = weak_callback(&Impl::on_connected),
                            .on_closed = weak_callback(&Impl::on_closed)});
  }

  void on_connected() {
    {
      std::lock_guard lock(error_mutex_);
      address_ = subscription_->address();
    }
    set_state(SubscriberState::subscribing);
    if (stopped_) return;
    if (channels_.empty()) return on_subscribed();
    if (!subscription_->subscribe(channels_, weak_callback(&Impl::on_push)))
      return connection_lost("cannot send SUBSCRIBE");
    // hiredis has no command timeout: a server that accepts but never answers is caught here.
    arm(deadline_timer_, options_.connect_timeout, &Impl::on_subscribe_timeout);
  }

  void on_subscribe_timeout() {
    if (state_ != SubscriberState::subscribed) connection_lost("SUBSCRIBE not confirmed in time");
  }

  void on_push(redisReply* reply) {
    // nullptr: the connection is going away and on_closed follows.
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
    std::string_view kind = as_view(reply->element[0]);
    std::string_view channel = as_view(reply->element[1]);
    if (kind == "message") {
      if (heartbeat_enabled() && channel == options_.heartbeat_channel) {
        last_heartbeat_ = Clock::now();
      } else if (handlers_.on_message) {
        handlers_.on_message(channel, as_view(reply->element[2]));
      }
    } else if (kind == "subscribe") {
      confirmed_.emplace(channel);
      if (state_ == SubscriberState::subscribing && confirmed_.size() == channels_.size())
        on_subscribed();
    }
  }

  void on_subscribed() {
    deadline_timer_.cancel();
    backoff_.reset();
    ++connects_;
    last_heartbeat_ = Clock::now();
    set_state(SubscriberState::subscribed);
    if (!stopped_ && heartbeat_enabled()) {
      ensure_heartbeat_publisher();
      arm(heartbeat_timer_, options_.heartbeat_interval, &Impl::on_heartbeat_tick);
    }
  }

  void on_closed(const std::string& error) { connection_lost(error); }

  void connection_lost(const std::string& error) {
    {
      std::lock_guard lock(error_mutex_);
      last_error_ = error;
    }
    if (state_ == SubscriberState::subscribed)
      ++disconnects_;
    else
      ++failed_attempts_;
    ++attempt_;  // invalidates this attempt's timers
    deadline_timer_.cancel();
    stop_heartbeat();
    if (subscription_) subscription_->close();
    subscription_.reset();
    set_state(SubscriberState::disconnected);
    if (stopped_) return;
    arm(retry_timer_, backoff_.next(), &Impl::connect_now);
  }

  void on_heartbeat_tick() {
    auto silence = Clock::now() - last_heartbeat_;
    // Only blame the subscription while the publisher is up: if it cannot even connect (e.g.
    // maxclients), dropping a working subscription would make things worse.
    bool publisher_up = publisher_ && publisher_->state() == AsyncRedisConnection::State::connected;
    if (publisher_up && silence > 3 * options_.heartbeat_interval)
      return connection_lost(
          "no heartbeat received for " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(silence).count()) +
          " ms");
    ensure_heartbeat_publisher();
    publish_heartbeat();
    arm(heartbeat_timer_, options_.heartbeat_interval, &Impl::on_heartbeat_tick);
  }

  void ensure_heartbeat_publisher() {
    if (publisher_ && publisher_->state() != AsyncRedisConnection::State::idle) return;
    if (!publisher_) publisher_ = AsyncRedisConnection::create(executor_);
    heartbeat_in_flight_ = false;
    // A failed publisher is simply retried at the next tick.
    publisher_->connect(options_.endpoint, options_.connect_timeout,
                        {.on_connected = weak_callback(&Impl::publish_heartbeat), .on_closed = {}});
  }

  void publish_heartbeat() {
    if (heartbeat_in_flight_ || !publisher_) return;
    std::vector<std::string> argv{"PUBLISH", options_.heartbeat_channel,
                                  heartbeat_tag_ + std::to_string(++heartbeat_sequence_)};
    heartbeat_in_flight_ = publisher_->command(argv, weak_callback(&Impl::on_heartbeat_published));
  }

  void on_heartbeat_published(redisReply*) { heartbeat_in_flight_ = false; }

  void stop_heartbeat() {
    heartbeat_timer_.cancel();
    if (publisher_) publisher_->close();
    heartbeat_in_flight_ = false;
  }

  asio::any_io_executor executor_;
  const SubscriberOptions options_;
  const SubscriberHandlers handlers_;
  std::vector<std::string> channels_;  // unique, heartbeat channel included
  Backoff backoff_;
  asio::steady_timer retry_timer_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer heartbeat_timer_;
  std::shared_ptr<AsyncRedisConnection> subscription_;
  std::shared_ptr<AsyncRedisConnection> publisher_;  // heartbeats only
  std::set<std::string, std::less<>> confirmed_;
  std::uint64_t attempt_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  Clock::time_point last_heartbeat_;
  bool heartbeat_in_flight_ = false;
  std::string heartbeat_tag_;
  std::uint64_t heartbeat_sequence_ = 0;

  // Read from other threads (metrics, logging).
  std::atomic<SubscriberState> state_{SubscriberState::disconnected};
  std::atomic<std::uint64_t> connects_{0};
  std::atomic<std::uint64_t> disconnects_{0};
  std::atomic<std::uint64_t> failed_attempts_{0};
  mutable std::mutex error_mutex_;
  std::string last_error_;
  std::string address_;
};

RedisSubscriber::RedisSubscriber(boost::asio::any_io_executor executor, SubscriberOptions options,
                                 SubscriberHandlers handlers)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(handlers))) {}

RedisSubscriber::~RedisSubscriber() { impl_->stop(); }

void RedisSubscriber::start() { impl_->start(); }
void RedisSubscriber::stop() { impl_->stop(); }
void RedisSubscriber::follow_primary(const std::string& primary, const std::string& why) {
  impl_->follow_primary(primary, why);
}
SubscriberState RedisSubscriber::state() const { return impl_->state(); }
SubscriberStats RedisSubscriber::stats() const { return impl_->stats(); }
std::string RedisSubscriber::last_error() const { return impl_->last_error(); }
std::string RedisSubscriber::address() const { return impl_->address(); }

}  // namespace newspush::redis

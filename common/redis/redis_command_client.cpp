#include "common/redis/redis_command_client.hpp"

#include <hiredis/hiredis.h>

#include <cstdio>
#include <random>
#include <string_view>

namespace newspush::redis {

Reply copy_reply(const redisReply* reply) {
  if (!reply) return Reply::error("connection to redis lost");
  Reply copy;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      copy.type = Reply::Type::integer;
      copy.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      copy.type = reply->type == REDIS_REPLY_STRING   ? Reply::Type::string
                  : reply->type == REDIS_REPLY_STATUS ? Reply::Type::status
                                                      : Reply::Type::error;
      copy.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      copy.type = Reply::Type::array;
      copy.elements.reserve(reply->elements);
      for (std::size_t i = 0; i < reply->elements; ++i)
        copy.elements.push_back(copy_reply(reply->element[i]));
      break;
    default:
      break;
  }
  return copy;
}

RedisCommandClient::RedisCommandClient(boost::asio::any_io_executor executor, Options options,
                                       Setup setup, std::function<void(bool)> on_ready_change)
    : executor_(executor),
      options_(std::move(options)),
      setup_(std::move(setup)),
      on_ready_change_(std::move(on_ready_change)),
      backoff_(options_.backoff_initial, options_.backoff_cap, std::random_device{}()),
      retry_timer_(executor),
      reply_watchdog_(executor) {}

RedisCommandClient::~RedisCommandClient() { stop(); }

void RedisCommandClient::start() {
  if (!stopped_) return;
  stopped_ = false;
  connect();
}

void RedisCommandClient::stop() {
  stopped_ = true;
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  retry_timer_.cancel();
  reply_watchdog_.cancel();
  watchdog_armed_ = false;
  awaiting_.clear();
  if (connection_) connection_->close();
  connection_.reset();
  connected_ = false;
  ready_ = false;
}

void RedisCommandClient::follow_primary(const std::string& primary, const std::string& why) {
  if (stopped_) return;
  if (connected_ && connection_ && connection_->address() == primary) return;
  backoff_.reset();
  if (connection_ && connection_->state() != AsyncRedisConnection::State::idle) {
    reconnect_at_once_ = true;
    connection_->abort(why);  // on_closed follows, then the reconnect
    return;
  }
  retry_timer_.cancel();
  connection_.reset();
  connect();
}

void RedisCommandClient::connect() {
  reconnect_at_once_ = false;
  awaiting_.clear();
  connection_ = AsyncRedisConnection::create(executor_);
  std::weak_ptr<bool> alive = alive_;
  connection_->connect(options_.endpoint, options_.connect_timeout,
                       {[this, alive] {
                          if (!alive.expired()) on_connected();
                        },
                        [this, alive](const std::string& error) {
                          if (!alive.expired()) on_closed(error);
                        }});
}

void RedisCommandClient::on_connected() {
  connected_ = true;
  std::weak_ptr<bool> alive = alive_;
  auto connection = connection_;
  setup_([this, alive, connection](bool ok, std::string error) {
    if (alive.expired() || connection != connection_) return;
    if (!ok) {
      // Retrying at once would hammer a Redis that refuses the setup (e.g. no functions support).
      last_error_ = "setup failed: " + error;
      connection_->close();
      connected_ = false;
      set_ready(false);
      schedule_reconnect();
      return;
    }
    backoff_.reset();
    set_ready(true);
  });
}

void RedisCommandClient::on_closed(const std::string& error) {
  last_error_ = error;
  connected_ = false;
  set_ready(false);
  schedule_reconnect();
}

void RedisCommandClient::schedule_reconnect() {
  if (stopped_) return;
  connection_.reset();
  retry_timer_.expires_after(reconnect_at_once_ ? std::chrono::milliseconds(0) : backoff_.next());
  std::weak_ptr<bool> alive = alive_;
  retry_timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (!ec && !alive.expired() && !stopped_ && !connection_) connect();
  });
}

void RedisCommandClient::set_ready(bool ready) {
  if (ready == ready_) return;
  ready_ = ready;
  if (on_ready_change_) on_ready_change_(ready);
}

void RedisCommandClient::command(const std::vector<std::string>& argv, Callback callback) {
  // Before the setup is done the functions may not exist yet: a command would fail or, worse,
  // read a history that is not initialised.
  send(ready_, argv, std::move(callback));
}

void RedisCommandClient::setup_command(const std::vector<std::string>& argv, Callback callback) {
  send(connected_, argv, std::move(callback));
}

void RedisCommandClient::send(bool allowed, const std::vector<std::string>& argv,
                              Callback callback) {
  std::weak_ptr<bool> alive = alive_;
  auto connection = connection_;
  auto on_reply = [this, alive, connection, callback](redisReply* reply) {
    // A reply, or the connection's end: either way this command no longer waits.
    bool current = !alive.expired() && connection == connection_;
    if (current && !awaiting_.empty()) awaiting_.pop_front();
    // Written to a replica: the primary moved (a failover) while this connection stayed up.
    // Dropped and made again, which asks the sentinels (if any) where the primary is now.
    bool readonly = reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
                    std::string_view(reply->str, reply->len).starts_with("READONLY");
    callback(copy_reply(reply));
    if (readonly && !alive.expired() && connection == connection_ && connection_)
      connection_->abort("READONLY: the server is a replica now (failover)");
  };
  if (!allowed || !connection_ || !connection_->command(argv, std::move(on_reply))) {
    callback(Reply::error("redis unavailable" + (last_error_.empty() ? "" : ": " + last_error_)));
    return;
  }
  awaiting_.push_back(std::chrono::steady_clock::now());
  watch_replies();
}

void RedisCommandClient::watch_replies() {
  if (watchdog_armed_ || awaiting_.empty()) return;
  watchdog_armed_ = true;
  // Checked at a fraction of the timeout: a hang is noticed within 1.25 timeouts.
  reply_watchdog_.expires_after(options_.reply_timeout / 4);
  std::weak_ptr<bool> alive = alive_;
  reply_watchdog_.async_wait([this, alive](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    watchdog_armed_ = false;
    if (awaiting_.empty() || !connection_) return;
    auto waited = std::chrono::steady_clock::now() - awaiting_.front();
    if (waited >= options_.reply_timeout) {
      char why[64];
      std::snprintf(why, sizeof why, "no reply from redis within %.1f s",
                    std::chrono::duration<double>(options_.reply_timeout).count());
      connection_->abort(why);
      return;  // on_closed follows, then a reconnect
    }
    watch_replies();
  });
}

}  // namespace newspush::redis

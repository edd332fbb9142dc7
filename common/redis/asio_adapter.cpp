#include "common/redis/asio_adapter.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <map>
#include <utility>

namespace newspush::redis {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// The state behind ac->ev.data. Pending waits hold a shared_ptr to it, so it outlives the
// context when hiredis frees the context while a wait is still queued.
class AsioEvents : public std::enable_shared_from_this<AsioEvents> {
 public:
  static bool attach(redisAsyncContext* ac, const asio::any_io_executor& executor) {
    if (ac->ev.data != nullptr) return false;
    std::shared_ptr<AsioEvents> events;
    try {
      events = std::shared_ptr<AsioEvents>(new AsioEvents(ac, executor));
    } catch (...) {
      return false;  // e.g. epoll registration failed: the caller frees the context
    }
    events->self_ = events;  // released in cleanup(), hiredis's "forget me"
    ac->ev.data = events.get();
    ac->ev.addRead = [](void* p) noexcept {
      guarded(p, [](AsioEvents& e) { e.want(read, true); });
    };
    ac->ev.delRead = [](void* p) noexcept {
      guarded(p, [](AsioEvents& e) { e.want(read, false); });
    };
    ac->ev.addWrite = [](void* p) noexcept {
      guarded(p, [](AsioEvents& e) { e.want(write, true); });
    };
    ac->ev.delWrite = [](void* p) noexcept {
      guarded(p, [](AsioEvents& e) { e.want(write, false); });
    };
    ac->ev.cleanup = [](void* p) noexcept { guarded(p, [](AsioEvents& e) { e.cleanup(); }); };
    return true;
  }

 private:
  enum Direction { read = 0, write = 1 };

  AsioEvents(redisAsyncContext* ac, const asio::any_io_executor& executor)
      : context_(ac), descriptor_(executor, ac->c.fd) {}

  template <typename Fn>
  static void guarded(void* p, Fn fn) noexcept {
    try {
      if (p != nullptr) fn(*static_cast<AsioEvents*>(p));
    } catch (...) {
      // Nothing sensible to do inside a C callback; hiredis will notice a dead socket itself.
    }
  }

  void want(Direction direction, bool on) {
    wanted_[direction] = on;
    // A wait that is no longer wanted stays queued and is ignored when it completes:
    // stream_descriptor can only cancel both directions at once.
    if (on) arm(direction);
  }

  void arm(Direction direction) {
    if (pending_[direction] || context_ == nullptr) return;
    pending_[direction] = true;
    auto type = direction == read ? asio::posix::stream_descriptor::wait_read
                                  : asio::posix::stream_descriptor::wait_write;
    descriptor_.async_wait(type, [self = shared_from_this(), direction](error_code ec) {
      self->on_ready(direction, ec);
    });
  }

  void on_ready(Direction direction, error_code ec) {
    pending_[direction] = false;
    if (ec == asio::error::operation_aborted || context_ == nullptr || !wanted_[direction]) return;
    // Other errors are left to hiredis: its read or write reports the actual cause.
    if (direction == read)
      redisAsyncHandleRead(context_);
    else
      redisAsyncHandleWrite(context_);
    // The context may be gone now (cleanup() nulled context_); arm() checks.
    if (wanted_[direction]) arm(direction);
  }

  void cleanup() {
    auto keep_alive_until_return = std::move(self_);
    context_ = nullptr;
    wanted_[read] = wanted_[write] = false;
    // hiredis closes the fd right after this; release() cancels our waits and deregisters it.
    descriptor_.release();
  }

  redisAsyncContext* context_;
  asio::posix::stream_descriptor descriptor_;
  bool wanted_[2] = {false, false};
  bool pending_[2] = {false, false};
  std::shared_ptr<AsioEvents> self_;
};

std::string context_error(const redisAsyncContext* ac, const char* fallback) {
  if (ac->errstr != nullptr && ac->errstr[0] != '\0') return ac->errstr;
  return fallback;
}

}  // namespace

bool attach_to_asio(redisAsyncContext* ac, const boost::asio::any_io_executor& executor) {
  return AsioEvents::attach(ac, executor);
}

std::shared_ptr<AsyncRedisConnection> AsyncRedisConnection::create(
    boost::asio::any_io_executor executor) {
  return std::shared_ptr<AsyncRedisConnection>(new AsyncRedisConnection(std::move(executor)));
}

AsyncRedisConnection::AsyncRedisConnection(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), connect_timer_(executor_), resolver_(executor_) {}

// self_while_attached_ guarantees that no context refers to us any more.
AsyncRedisConnection::~AsyncRedisConnection() = default;

void AsyncRedisConnection::connect(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout,
                                   Callbacks callbacks) {
  close();
  ++generation_;
  callbacks_ = std::move(callbacks);
  endpoint_ = endpoint;
  state_ = State::connecting;
  addresses_.clear();
  next_address_ = 0;
  last_connect_error_.clear();
  current_address_.clear();
  timeout_ = timeout;
  if (!endpoint.sentinels.empty()) {
    next_sentinel_ = 0;
    sentinel_errors_.clear();
    return ask_next_sentinel();
  }
  connect_primary();
}

std::string AsyncRedisConnection::address() const {
  if (current_address_.empty()) return {};
  bool ipv6 = current_address_.find(':') != std::string::npos;
  return (ipv6 ? "[" + current_address_ + "]" : current_address_) + ":" +
         std::to_string(endpoint_.port);
}

// One sentinel at a time, in the configured order, each under its own deadline: one that is
// down or hangs costs at most `timeout`, and the first that answers wins.
void AsyncRedisConnection::ask_next_sentinel() {
  if (next_sentinel_ >= endpoint_.sentinels.size())
    return fail("no sentinel gave the primary of '" + endpoint_.sentinel_master + "' (" +
                sentinel_errors_ + ")");
  const auto& sentinel = endpoint_.sentinels[next_sentinel_++];
  const std::uint64_t step = ++sentinel_step_;
  RedisEndpoint target;  // no AUTH, no SELECT: sentinels are asked as the default user
  target.host = sentinel.host;
  target.port = sentinel.port;
  if (sentinel_) sentinel_->close();
  sentinel_ = AsyncRedisConnection::create(executor_);
  connect_timer_.expires_after(timeout_);
  connect_timer_.async_wait([weak = weak_from_this(), step](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->sentinel_failed(step, "timed out");
  });
  auto weak = weak_from_this();
  sentinel_->connect(
      target, timeout_,
      {.on_connected =
           [weak, step] {
             auto self = weak.lock();
             if (!self || self->sentinel_step_ != step || !self->sentinel_) return;
             bool sent = self->sentinel_->command(
                 {"SENTINEL", "get-master-addr-by-name", self->endpoint_.sentinel_master},
                 [weak, step](redisReply* reply) {
                   if (auto self = weak.lock()) self->on_sentinel_answer(step, reply);
                 });
             if (!sent) self->sentinel_failed(step, "cannot send SENTINEL");
           },
       .on_closed =
           [weak, step](const std::string& error) {
             if (auto self = weak.lock()) self->sentinel_failed(step, error);
           }});
}

void AsyncRedisConnection::on_sentinel_answer(std::uint64_t step, redisReply* reply) {
  if (sentinel_step_ != step || state_ != State::connecting || !sentinel_) return;
  if (reply == nullptr) return sentinel_failed(step, "connection lost");
  if (reply->type == REDIS_REPLY_ERROR)
    return sentinel_failed(step, std::string(reply->str, reply->len));
  if (reply->type == REDIS_REPLY_NIL)
    return sentinel_failed(step, "does not know master '" + endpoint_.sentinel_master + "'");
  std::uint16_t port = 0;
  bool valid = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
               reply->element[0]->type == REDIS_REPLY_STRING &&
               reply->element[1]->type == REDIS_REPLY_STRING && reply->element[0]->len > 0;
  if (valid) {
    std::string port_text(reply->element[1]->str, reply->element[1]->len);
    unsigned long value = std::strtoul(port_text.c_str(), nullptr, 10);
    valid = value > 0 && value <= 65535;
    port = static_cast<std::uint16_t>(value);
  }
  if (!valid) return sentinel_failed(step, "unexpected answer to get-master-addr-by-name");
  endpoint_.host.assign(reply->element[0]->str, reply->element[0]->len);
  endpoint_.port = port;
  ++sentinel_step_;
  connect_timer_.cancel();
  // Inside the sentinel connection's reply callback: close() is safe there, and the primary's
  // context is a different one.
  sentinel_->close();
  sentinel_.reset();
  connect_primary();
}

void AsyncRedisConnection::sentinel_failed(std::uint64_t step, std::string error) {
  if (sentinel_step_ != step || state_ != State::connecting) return;
  const auto& sentinel = endpoint_.sentinels[next_sentinel_ - 1];
  if (!sentinel_errors_.empty()) sentinel_errors_ += "; ";
  sentinel_errors_ += sentinel.host + ":" + std::to_string(sentinel.port) + ": " + error;
  ++sentinel_step_;
  connect_timer_.cancel();
  if (sentinel_) sentinel_->close();
  sentinel_.reset();
  ask_next_sentinel();
}

void AsyncRedisConnection::connect_primary() {
  // hiredis 0.14 has no connect timeout of its own.
  connect_timer_.expires_after(timeout_);
  connect_timer_.async_wait(
      [weak = weak_from_this(), generation = generation_](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->generation_ != generation) return;
        if (self->state_ != State::connecting) return;
        self->fail(self->resolving_ ? "cannot resolve " + self->endpoint_.host + ": timed out"
                                    : "connect timeout");
      });

  // hiredis would resolve a name with a blocking getaddrinfo on this (the control) thread, on
  // every reconnect. It only ever gets a numeric address, which its getaddrinfo merely parses.
  error_code ec;
  asio::ip::address literal = asio::ip::make_address(endpoint_.host, ec);
  if (!ec) {
    addresses_.push_back(literal.to_string());
    return connect_next_address();
  }
  resolving_ = true;
  resolver_.async_resolve(
      endpoint_.host, std::to_string(endpoint_.port), asio::ip::tcp::resolver::numeric_service,
      [weak = weak_from_this(), generation = generation_](
          const error_code& ec, const asio::ip::tcp::resolver::results_type& results) {
        auto self = weak.lock();
        // A stale result (timed out, closed, or a newer connect()) is dropped.
        if (!self || self->generation_ != generation || self->state_ != State::connecting) return;
        self->on_resolved(ec, results);
      });
}

void AsyncRedisConnection::on_resolved(const error_code& ec,
                                       const asio::ip::tcp::resolver::results_type& results) {
  resolving_ = false;
  if (ec) return fail("cannot resolve " + endpoint_.host + ": " + ec.message());
  for (const auto& entry : results) addresses_.push_back(entry.endpoint().address().to_string());
  if (addresses_.empty()) return fail("cannot resolve " + endpoint_.host + ": no address");
  connect_next_address();
}

// The addresses are tried in the resolver's order (RFC 6724, as getaddrinfo sorts them), the next
// one when a connect fails, all within the one connect deadline: "localhost" often gives ::1
// first while Redis may listen on 127.0.0.1 only. AUTH or SELECT refused is not retried on
// another address: it would be refused there too.
void AsyncRedisConnection::connect_next_address() {
  while (next_address_ < addresses_.size()) {
    current_address_ = addresses_[next_address_++];
    redisAsyncContext* ac = redisAsyncConnect(current_address_.c_str(), endpoint_.port);
    if (ac == nullptr) return fail("cannot allocate a redis context");
    if (ac->err != 0) {
      last_connect_error_ = context_error(ac, "connect failed");
      redisAsyncFree(ac);
      continue;
    }
    if (!attach_to_asio(ac, executor_)) {
      redisAsyncFree(ac);
      return fail("cannot watch the redis socket");
    }
    ac->data = this;
    context_ = ac;
    self_while_attached_ = shared_from_this();
    // The adapter must be attached first: setting the connect callback asks it for writability.
    redisAsyncSetConnectCallback(ac, &AsyncRedisConnection::connect_trampoline);
    redisAsyncSetDisconnectCallback(ac, &AsyncRedisConnection::disconnect_trampoline);
    return;
  }
  std::string error = last_connect_error_.empty() ? "connect failed" : last_connect_error_;
  if (current_address_ != endpoint_.host) error += " (" + current_address_ + ")";
  fail(std::move(error));
}

bool AsyncRedisConnection::command(const std::vector<std::string>& argv, ReplyCallback callback) {
  return state_ == State::connected && send(argv, std::move(callback), false);
}

bool AsyncRedisConnection::subscribe(const std::vector<std::string>& channels,
                                     ReplyCallback on_push) {
  if (state_ != State::connected || channels.empty()) return false;
  std::vector<std::string> argv;
  argv.reserve(channels.size() + 1);
  argv.emplace_back("SUBSCRIBE");
  argv.insert(argv.end(), channels.begin(), channels.end());
  return send(argv, std::move(on_push), true);
}

void AsyncRedisConnection::close() {
  ++generation_;
  pending_.clear();
  detach();
}

bool AsyncRedisConnection::send(const std::vector<std::string>& argv, ReplyCallback callback,
                                bool persistent) {
  if (context_ == nullptr || argv.empty()) return false;
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  // The id, not a pointer, travels through hiredis: a reply for an id we already dropped
  // (close(), or a subscription's repeated NULL on free) is simply not found.
  std::uint64_t id = next_reply_id_++;
  pending_.emplace(id,
                   PendingReply{std::make_shared<ReplyCallback>(std::move(callback)), persistent});
  void* privdata = reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));
  if (redisAsyncCommandArgv(context_, &AsyncRedisConnection::reply_trampoline, privdata,
                            static_cast<int>(args.size()), args.data(),
                            lengths.data()) != REDIS_OK) {
    pending_.erase(id);
    return false;
  }
  return true;
}

void AsyncRedisConnection::on_tcp_connected() {
  redisEnableKeepAlive(&context_->c);
  std::vector<std::vector<std::string>> handshake;
  if (!endpoint_.password.empty()) {
    // Redis 6 ACL form with a user name; the bare form is the default user (requirepass).
    if (endpoint_.username.empty())
      handshake.push_back({"AUTH", endpoint_.password});
    else
      handshake.push_back({"AUTH", endpoint_.username, endpoint_.password});
  }
  if (endpoint_.db != 0) handshake.push_back({"SELECT", std::to_string(endpoint_.db)});
  // The sentinels' answer may be stale (a failover under way, or a demoted primary back as a
  // replica): a connection to anything but the primary is dropped and the sentinels asked again.
  if (!endpoint_.sentinels.empty()) handshake.push_back({"ROLE"});
  if (handshake.empty()) return mark_connected();
  // Queued first (pipelined), so every later command runs authenticated, in the selected
  // database. Only the command's name goes into an error: its arguments hold the password.
  for (std::size_t i = 0; i < handshake.size(); ++i) {
    const std::string name = handshake[i].front();
    const bool last = i + 1 == handshake.size();
    bool sent = send(
        handshake[i],
        [this, name, last](redisReply* reply) {
          if (reply == nullptr) return;  // lost: on_closed follows
          if (name == "ROLE") {
            // Refused (an ACL without ROLE): cannot check; a READONLY reply will tell later.
            if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                reply->element[0]->type == REDIS_REPLY_STRING) {
              std::string role(reply->element[0]->str, reply->element[0]->len);
              if (role != "master")
                return fail("not the primary (ROLE " + role + " at " + address() + ")");
            }
          } else if (reply->type == REDIS_REPLY_ERROR) {
            return fail(name + " failed: " + std::string(reply->str, reply->len));
          }
          if (last) mark_connected();
        },
        false);
    // Not from inside hiredis's connect callback: freeing the context there is a use-after-free.
    if (!sent)
      return boost::asio::post(executor_,
                               [self = shared_from_this(), generation = generation_, name] {
                                 if (self->generation_ == generation)
                                   self->fail("cannot send " + name);
                               });
  }
}

void AsyncRedisConnection::mark_connected() {
  state_ = State::connected;
  connect_timer_.cancel();
  boost::asio::post(executor_, [self = shared_from_this(), generation = generation_] {
    if (self->generation_ != generation || self->state_ != State::connected) return;
    if (auto on_connected = self->callbacks_.on_connected) on_connected();
  });
}

void AsyncRedisConnection::fail(std::string error) {
  detach();
  post_closed(std::move(error));
}

void AsyncRedisConnection::detach() {
  auto keep_alive_until_return = std::move(self_while_attached_);
  connect_timer_.cancel();
  resolver_.cancel();
  resolving_ = false;
  ++sentinel_step_;
  if (auto sentinel = std::exchange(sentinel_, nullptr)) sentinel->close();
  state_ = State::idle;
  if (redisAsyncContext* ac = std::exchange(context_, nullptr)) {
    // Silences every callback hiredis still makes while freeing (NULL replies, disconnect).
    ac->data = nullptr;
    redisAsyncFree(ac);  // deferred by hiredis when we are inside one of its reply callbacks
  }
}

void AsyncRedisConnection::post_closed(std::string error) {
  if (!endpoint_.sentinels.empty() && !current_address_.empty() &&
      error.find(current_address_) == std::string::npos)
    error += " (primary " + address() + ")";
  auto orphans = std::exchange(pending_, {});
  boost::asio::post(executor_, [self = shared_from_this(), generation = generation_,
                                error = std::move(error), orphans = std::move(orphans)] {
    // Commands that never got a reply learn it first, in the order they were sent.
    for (auto& [id, pending] : orphans) {
      if (self->generation_ != generation) return;
      (*pending.callback)(nullptr);
    }
    if (self->generation_ != generation) return;
    if (auto on_closed = self->callbacks_.on_closed) on_closed(error);
  });
}

void AsyncRedisConnection::connect_trampoline(const redisAsyncContext* ac, int status) noexcept {
  try {
    auto* self = static_cast<AsyncRedisConnection*>(ac->data);
    if (self == nullptr) return;
    if (status == REDIS_OK) return self->on_tcp_connected();
    // hiredis frees the context right after we return, without calling the disconnect callback.
    auto keep_alive_until_return = std::move(self->self_while_attached_);
    const_cast<redisAsyncContext*>(ac)->data = nullptr;
    self->context_ = nullptr;
    if (self->next_address_ < self->addresses_.size()) {
      // Still connecting, under the same deadline; the next context is made outside hiredis.
      self->last_connect_error_ = context_error(ac, "connect failed");
      boost::asio::post(self->executor_,
                        [owner = self->shared_from_this(), generation = self->generation_] {
                          if (owner->generation_ == generation &&
                              owner->state_ == State::connecting)
                            owner->connect_next_address();
                        });
      return;
    }
    self->state_ = State::idle;
    self->connect_timer_.cancel();
    std::string error = context_error(ac, "connect failed");
    if (self->current_address_ != self->endpoint_.host) error += " (" + self->current_address_ + ")";
    self->post_closed(std::move(error));
  } catch (...) {
  }
}

void AsyncRedisConnection::disconnect_trampoline(const redisAsyncContext* ac, int) noexcept {
  try {
    auto* self = static_cast<AsyncRedisConnection*>(ac->data);
    if (self == nullptr) return;  // close() silenced it
    // hiredis frees the context right after we return.
    auto keep_alive_until_return = std::move(self->self_while_attached_);
    const_cast<redisAsyncContext*>(ac)->data = nullptr;
    self->context_ = nullptr;
    self->state_ = State::idle;
    self->connect_timer_.cancel();
    self->post_closed(context_error(ac, "connection closed"));
  } catch (...) {
  }
}

void AsyncRedisConnection::reply_trampoline(redisAsyncContext* ac, void* reply,
                                            void* privdata) noexcept {
  try {
    auto* self = static_cast<AsyncRedisConnection*>(ac->data);
    if (self == nullptr) return;
    auto it = self->pending_.find(reinterpret_cast<std::uintptr_t>(privdata));
    if (it == self->pending_.end()) return;
    auto* redis_reply = static_cast<redisReply*>(reply);
    // Copies, because the callback may close() (clearing pending_) or drop the last owner.
    std::shared_ptr<ReplyCallback> callback = it->second.callback;
    if (!it->second.persistent || redis_reply == nullptr) self->pending_.erase(it);
    auto keep_alive_until_return = self->shared_from_this();
    (*callback)(redis_reply);
  } catch (...) {
  }
}

}  // namespace newspush::redis

#include "server/redis/asio_adapter.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
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
    : executor_(std::move(executor)), connect_timer_(executor_) {}

// self_while_attached_ guarantees that no context refers to us any more.
AsyncRedisConnection::~AsyncRedisConnection() = default;

void AsyncRedisConnection::connect(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout,
                                   Callbacks callbacks) {
  close();
  ++generation_;
  callbacks_ = std::move(callbacks);
  db_ = endpoint.db;
  state_ = State::connecting;

  redisAsyncContext* ac = redisAsyncConnect(endpoint.host.c_str(), endpoint.port);
  if (ac == nullptr) return fail("cannot allocate a redis context");
  if (ac->err != 0) {
    std::string error = context_error(ac, "connect failed");
    redisAsyncFree(ac);
    return fail(std::move(error));
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

  // hiredis 0.14 has no connect timeout of its own.
  connect_timer_.expires_after(timeout);
  connect_timer_.async_wait(
      [weak = weak_from_this(), generation = generation_](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->generation_ != generation) return;
        if (self->state_ == State::connecting) self->fail("connect timeout");
      });
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
  auto mark_connected = [this] {
    state_ = State::connected;
    connect_timer_.cancel();
    boost::asio::post(executor_, [self = shared_from_this(), generation = generation_] {
      if (self->generation_ != generation || self->state_ != State::connected) return;
      if (auto on_connected = self->callbacks_.on_connected) on_connected();
    });
  };
  if (db_ == 0) return mark_connected();
  // Queued first, so every later command runs in the selected database.
  bool sent = send(
      {"SELECT", std::to_string(db_)},
      [this, mark_connected](redisReply* reply) {
        if (reply == nullptr) return;  // lost: on_closed follows
        if (reply->type == REDIS_REPLY_ERROR)
          return fail("SELECT failed: " + std::string(reply->str, reply->len));
        mark_connected();
      },
      false);
  // Not from inside hiredis's connect callback: freeing the context there is a use-after-free.
  if (!sent)
    boost::asio::post(executor_, [self = shared_from_this(), generation = generation_] {
      if (self->generation_ == generation) self->fail("cannot send SELECT");
    });
}

void AsyncRedisConnection::fail(std::string error) {
  detach();
  post_closed(std::move(error));
}

void AsyncRedisConnection::detach() {
  auto keep_alive_until_return = std::move(self_while_attached_);
  connect_timer_.cancel();
  state_ = State::idle;
  if (redisAsyncContext* ac = std::exchange(context_, nullptr)) {
    // Silences every callback hiredis still makes while freeing (NULL replies, disconnect).
    ac->data = nullptr;
    redisAsyncFree(ac);  // deferred by hiredis when we are inside one of its reply callbacks
  }
}

void AsyncRedisConnection::post_closed(std::string error) {
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
    self->state_ = State::idle;
    self->connect_timer_.cancel();
    self->post_closed(context_error(ac, "connect failed"));
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

#pragma once
// hiredis 0.14 async contexts driven by Boost.Asio.
//
// attach_to_asio() is the bare event adapter. AsyncRedisConnection builds one connection on it
// (name resolution with Asio, connect deadline, keep-alive, AUTH and SELECT, commands,
// subscriptions) and hides the lifecycle traps
// of 0.14 (see /work/shared/notes/hiredis-0.14-on-asio.md). Everything runs on one executor,
// which must be single-threaded (or a strand).
#include <hiredis/async.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/redis_url.hpp"

namespace newspush::redis {

// Points ac->ev at Asio waits on ac->c.fd. Must be called before redisAsyncSetConnectCallback.
// hiredis keeps owning the fd; the adapter forgets the context in ev.cleanup. Returns false if
// the context already has an event adapter.
bool attach_to_asio(redisAsyncContext* ac, const boost::asio::any_io_executor& executor);

class AsyncRedisConnection : public std::enable_shared_from_this<AsyncRedisConnection> {
 public:
  // reply is nullptr when the command failed because the connection went away; it is only
  // valid during the call (copy what you need).
  using ReplyCallback = std::function<void(redisReply* reply)>;

  struct Callbacks {
    // The connection is usable (TCP connected, AUTH done if the endpoint has a password, SELECT
    // done for db != 0).
    std::function<void()> on_connected;
    // The connect attempt failed (name not resolved, refused, AUTH or SELECT refused), timed out,
    // or the established connection was lost. Called once per connect(), never after close().
    // The error never contains the password.
    std::function<void(const std::string& error)> on_closed;
  };

  enum class State { idle, connecting, connected };

  // Always owned by a shared_ptr: hiredis callbacks may outlive the owner's reference.
  static std::shared_ptr<AsyncRedisConnection> create(boost::asio::any_io_executor executor);
  ~AsyncRedisConnection();
  AsyncRedisConnection(const AsyncRedisConnection&) = delete;
  AsyncRedisConnection& operator=(const AsyncRedisConnection&) = delete;

  // Starts a non-blocking connect: a host name is resolved on the executor (never a blocking
  // getaddrinfo), then hiredis connects to a numeric address. The timeout bounds resolve,
  // connect, AUTH and SELECT together. on_connected / on_closed are posted to the executor,
  // never called from inside connect() or from a hiredis callback.
  // With endpoint.sentinels, the sentinels are first asked in turn (each within `timeout`)
  // `SENTINEL get-master-addr-by-name`, and the connection goes to the answer, which must say
  // ROLE master (a replica is refused: the sentinels' view is behind, retry later).
  void connect(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout,
               Callbacks callbacks);

  // Sends one command (binary-safe arguments). The callback runs exactly once, on the
  // executor, unless close() is called first. Returns false (callback dropped) if not connected.
  bool command(const std::vector<std::string>& argv, ReplyCallback callback);

  // SUBSCRIBE to every channel in one command. on_push gets each ["subscribe",ch,n] and
  // ["message",ch,payload] reply, synchronously, and a final nullptr if the connection is lost.
  bool subscribe(const std::vector<std::string>& channels, ReplyCallback on_push);

  // Frees the context at once and silences every callback; back to idle. Idempotent, and safe
  // from inside any callback of this connection.
  void close();
  // Gives up on a connection that stopped answering: like a lost connection, every command
  // waiting for a reply gets nullptr, then on_closed(why).
  void abort(std::string why) { fail(std::move(why)); }

  State state() const { return state_; }
  // "HOST:PORT" of the server this connection is (being) made to; "" before the address is known.
  std::string address() const;

 private:
  explicit AsyncRedisConnection(boost::asio::any_io_executor executor);

  bool send(const std::vector<std::string>& argv, ReplyCallback callback, bool persistent);
  void ask_next_sentinel();
  void on_sentinel_answer(std::uint64_t step, redisReply* reply);
  void sentinel_failed(std::uint64_t step, std::string error);
  void connect_primary();
  void on_resolved(const boost::system::error_code& ec,
                   const boost::asio::ip::tcp::resolver::results_type& results);
  void connect_next_address();
  void on_tcp_connected();
  void mark_connected();
  void fail(std::string error);
  void detach();
  void post_closed(std::string error);

  static void connect_trampoline(const redisAsyncContext* ac, int status) noexcept;
  static void disconnect_trampoline(const redisAsyncContext* ac, int status) noexcept;
  static void reply_trampoline(redisAsyncContext* ac, void* reply, void* privdata) noexcept;

  struct PendingReply {
    std::shared_ptr<ReplyCallback> callback;
    bool persistent = false;  // subscriptions: called for every push, not erased on first reply
  };

  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::ip::tcp::resolver resolver_;
  redisAsyncContext* context_ = nullptr;
  // Keeps this object alive while hiredis holds a pointer to it in context_->data.
  std::shared_ptr<AsyncRedisConnection> self_while_attached_;
  State state_ = State::idle;
  // Bumped by connect() and close() so that posted callbacks of an older attempt are dropped.
  std::uint64_t generation_ = 0;
  Callbacks callbacks_;
  RedisEndpoint endpoint_;  // of the current connect(): host, port, credentials, db
  bool resolving_ = false;
  std::vector<std::string> addresses_;  // numeric, in the resolver's order
  std::size_t next_address_ = 0;        // the next one to try if the current one fails
  std::string current_address_;
  std::string last_connect_error_;
  std::chrono::milliseconds timeout_{0};
  // Sentinel mode: the lookup in progress, the next sentinel to ask and why the others failed.
  std::shared_ptr<AsyncRedisConnection> sentinel_;
  std::size_t next_sentinel_ = 0;
  std::uint64_t sentinel_step_ = 0;  // bumped per sentinel asked: stale answers are dropped
  std::string sentinel_errors_;
  std::uint64_t next_reply_id_ = 1;
  std::map<std::uint64_t, PendingReply> pending_;  // ordered: orphans fail in send order
};

}  // namespace newspush::redis

#include "server/net/sse_session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <boost/asio/write.hpp>
#include <random>
#include <span>

#include "protocol/messages.hpp"
#include "protocol/sse.hpp"
#include "server/log.hpp"

namespace newspush {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// EventSource waits this long before reconnecting after the stream ends.
constexpr int kRetryMillis = 3000;
// When the server ends many streams at once (a drain), their readers come back spread over this.
constexpr int kCloseRetryMinMillis = 1000;
constexpr int kCloseRetryMaxMillis = 5000;

const SharedFrame& heartbeat_frame() {
  static const SharedFrame frame = std::make_shared<const std::string>(": ping\n\n");
  return frame;
}

std::string response_head(std::string_view allow_origin, std::string_view request_id) {
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Server: newspushd/" NEWSPUSH_VERSION "\r\n"
      "Content-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-store\r\n"
      // nginx buffers proxied responses unless told not to; events must not wait in a buffer.
      "X-Accel-Buffering: no\r\n"
      // The body ends when the connection does: no length, no chunking to frame each write.
      "Connection: close\r\n";
  if (!request_id.empty()) head.append("X-Request-Id: ").append(request_id).append("\r\n");
  if (!allow_origin.empty()) {
    head.append("Access-Control-Allow-Origin: ").append(allow_origin).append("\r\n");
    if (allow_origin != "*") head.append("Vary: Origin\r\n");
  }
  head.append("\r\n");
  head.append("retry: ").append(std::to_string(kRetryMillis)).append("\n\n");
  return head;
}

}  // namespace

SseSession::SseSession(tcp::socket&& socket, Worker& worker, ServerState& state,
                       Admission::ConnectionSlot connection_slot, Admission::ClientSlot client_slot)
    : PushSession(worker, state, Framing::sse, std::move(connection_slot), std::move(client_slot)),
      socket_(std::move(socket)),
      heartbeat_(socket_.get_executor()) {}

SseSession::~SseSession() {
  if (counted_) metrics_.sse_streams_current.fetch_sub(1, std::memory_order_relaxed);
}

void SseSession::run(std::string_view allow_origin, const protocol::Subscribe& subscription,
                     std::string_view token, std::string_view request_id) {
  // A reader whose machine vanished never acknowledges the heartbeats: the kernel gives up on
  // the connection after the idle timeout, as a WebSocket's unanswered pings would.
  using user_timeout = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_USER_TIMEOUT>;
  boost::system::error_code ignored;
  socket_.set_option(
      user_timeout(static_cast<int>(std::chrono::milliseconds(state_.session.idle_timeout).count())),
      ignored);
  start();
  metrics_.sse_streams_current.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  enqueue(std::make_shared<const std::string>(response_head(allow_origin, request_id)));
  if (!token.empty()) authorize(token);
  subscribe(subscription);
  if (state_.draining.load()) {
    // Accepted in the instant between drain start and the listener closing.
    shut_down();
    return;
  }
  read_next();
  arm_heartbeat();
}

void SseSession::read_next() {
  socket_.async_read_some(asio::buffer(read_chunk_), [self = self_as<SseSession>()](
                                                         boost::system::error_code ec, std::size_t) {
    if (!ec) return self->read_next();
    // The reader went away (or, once closing, acknowledged the end of the stream). Closing the
    // socket now ends a write still pending and gives the descriptor back at once.
    self->finish(self->closing_ ? self->close_cause_ : CloseCause::client);
    self->abort();
  });
}

void SseSession::arm_heartbeat() {
  heartbeat_.expires_after(state_.session.sse_heartbeat);
  // Weakly: the heartbeat does not keep a connection alive, the pending read does.
  heartbeat_.async_wait([weak = std::weak_ptr<SseSession>(self_as<SseSession>())](
                            boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closing_ || self->finished_) return;
    // Proxies close streams that stay silent; one that carries events needs no comment.
    if (!self->wrote_since_heartbeat_) self->enqueue(heartbeat_frame());
    self->wrote_since_heartbeat_ = false;
    self->arm_heartbeat();
  });
}

void SseSession::write_batch(const std::vector<SharedFrame>& batch) {
  // Events are self-delimiting: the batch goes out as it is, in one gather write.
  gather_.clear();
  std::size_t bytes = 0;
  for (const auto& frame : batch) {
    gather_.emplace_back(frame->data(), frame->size());
    bytes += frame->size();
  }
  wrote_since_heartbeat_ = true;
  metrics_.frames_written.fetch_add(1, std::memory_order_relaxed);
  metrics_.bytes_written.fetch_add(bytes, std::memory_order_relaxed);
  asio::async_write(socket_, std::span<const asio::const_buffer>(gather_),
                    [self = self_as<SseSession>()](boost::system::error_code ec, std::size_t) {
                      self->on_written(!ec);
                    });
}

void SseSession::shut_down() {
  close_with(protocol::close_code::going_away, "shutdown", CloseCause::shutdown);
}

void SseSession::send_close() {
  heartbeat_.cancel();
  // Readers told to go at the same moment (a drain) come back spread out.
  thread_local std::minstd_rand random{std::random_device{}()};
  int retry = std::uniform_int_distribution<int>(kCloseRetryMinMillis, kCloseRetryMaxMillis)(random);
  close_event_ = "retry: " + std::to_string(retry) + "\n" +
                 protocol::sse_event("close", {}, protocol::close_message(close_reason_code_));
  asio::async_write(socket_, asio::buffer(close_event_),
                    [self = self_as<SseSession>()](boost::system::error_code ec, std::size_t) {
                      if (ec) return self->finish(self->close_cause_);
                      // The end of the body. The pending read sees the reader close its side,
                      // or the close deadline closes the socket.
                      boost::system::error_code ignored;
                      self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                    });
}

void SseSession::abort() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace newspush

// Member definitions of SseSession, included once per stream type by sse_session.cpp (plain
// TCP) and http_transport_tls.cpp (TLS).
#pragma once
#include "server/net/sse_session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <random>
#include <span>

#include "protocol/messages.hpp"
#include "protocol/sse.hpp"
#include "server/log.hpp"

namespace newspush {

namespace sse_detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// EventSource waits this long before reconnecting after the stream ends.
inline constexpr int kRetryMillis = 3000;
// When the server ends many streams at once (a drain), their readers come back spread over this.
inline constexpr int kCloseRetryMinMillis = 1000;
inline constexpr int kCloseRetryMaxMillis = 5000;

inline const SharedFrame& heartbeat_frame() {
  static const SharedFrame frame = std::make_shared<const std::string>(": ping\n\n");
  return frame;
}

inline std::string response_head(std::string_view allow_origin, std::string_view request_id) {
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

inline tcp::socket& socket_of(tcp::socket& socket) { return socket; }
inline tcp::socket& socket_of(boost::beast::tcp_stream& stream) { return stream.socket(); }
// Under TLS the tcp_stream's expiry bounded the handshake and the request; the stream has its
// heartbeat and TCP_USER_TIMEOUT instead.
inline void disarm_timer(tcp::socket&) {}
inline void disarm_timer(boost::beast::tcp_stream& stream) { stream.expires_never(); }

}  // namespace sse_detail

namespace asio = boost::asio;

template <typename Stream>
asio::ip::tcp::socket& SseSession<Stream>::socket() {
  return sse_detail::socket_of(boost::beast::get_lowest_layer(stream_));
}

template <typename Stream>
SseSession<Stream>::SseSession(Stream&& stream, Worker& worker, ServerState& state,
                               Admission::ConnectionSlot connection_slot,
                               Admission::ClientSlot client_slot, TlsContextPtr tls_context)
    : PushSession(worker, state, Framing::sse, std::move(connection_slot), std::move(client_slot)),
      tls_context_(std::move(tls_context)),
      stream_(std::move(stream)),
      heartbeat_(stream_.get_executor()) {}

template <typename Stream>
SseSession<Stream>::~SseSession() {
  if (counted_) metrics_.sse_streams_current.fetch_sub(1, std::memory_order_relaxed);
}

template <typename Stream>
void SseSession<Stream>::run(std::string_view allow_origin, const protocol::Subscribe& subscription,
                             std::string_view token, std::string_view request_id) {
  // A reader whose machine vanished never acknowledges the heartbeats: the kernel gives up on
  // the connection after the idle timeout, as a WebSocket's unanswered pings would.
  using user_timeout = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_USER_TIMEOUT>;
  boost::system::error_code ignored;
  socket().set_option(
      user_timeout(static_cast<int>(std::chrono::milliseconds(state_.session.idle_timeout).count())),
      ignored);
  sse_detail::disarm_timer(boost::beast::get_lowest_layer(stream_));
  start();
  metrics_.sse_streams_current.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  enqueue(std::make_shared<const std::string>(sse_detail::response_head(allow_origin, request_id)));
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

template <typename Stream>
void SseSession<Stream>::read_next() {
  stream_.async_read_some(asio::buffer(read_chunk_), [self = self_as<SseSession>()](
                                                         boost::system::error_code ec, std::size_t) {
    if (!ec) return self->read_next();
    // The reader went away (or, once closing, acknowledged the end of the stream). Closing the
    // socket now ends a write still pending and gives the descriptor back at once.
    self->finish(self->closing_ ? self->close_cause_ : CloseCause::client);
    self->abort();
  });
}

template <typename Stream>
void SseSession<Stream>::arm_heartbeat() {
  heartbeat_.expires_after(state_.session.sse_heartbeat);
  // Weakly: the heartbeat does not keep a connection alive, the pending read does.
  heartbeat_.async_wait([weak = std::weak_ptr<SseSession>(self_as<SseSession>())](
                            boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closing_ || self->finished_) return;
    // Proxies close streams that stay silent; one that carries events needs no comment.
    if (!self->wrote_since_heartbeat_) self->enqueue(sse_detail::heartbeat_frame());
    self->wrote_since_heartbeat_ = false;
    self->arm_heartbeat();
  });
}

template <typename Stream>
bool SseSession<Stream>::write_batch(const std::vector<SharedFrame>& batch) {
  // Events are self-delimiting: the batch goes out as it is, in one gather write.
  gather_.clear();
  std::size_t bytes = 0;
  for (const auto& frame : batch) {
    gather_.emplace_back(frame->data(), frame->size());
    bytes += frame->size();
  }
  wrote_since_heartbeat_ = true;
  worker_.counters().frames_written.add(1);
  worker_.counters().bytes_written.add(bytes);
  asio::async_write(stream_, std::span<const asio::const_buffer>(gather_),
                    [self = self_as<SseSession>()](boost::system::error_code ec, std::size_t) {
                      self->on_written(!ec);
                    });
  return false;
}

template <typename Stream>
void SseSession<Stream>::shut_down() {
  close_with(protocol::close_code::going_away, "shutdown", CloseCause::shutdown);
}

template <typename Stream>
void SseSession<Stream>::send_close() {
  heartbeat_.cancel();
  // Readers told to go at the same moment (a drain) come back spread out.
  thread_local std::minstd_rand random{std::random_device{}()};
  int retry = std::uniform_int_distribution<int>(sse_detail::kCloseRetryMinMillis,
                                                 sse_detail::kCloseRetryMaxMillis)(random);
  close_event_ = "retry: " + std::to_string(retry) + "\n" +
                 protocol::sse_event("close", {}, protocol::close_message(close_reason_code_));
  asio::async_write(stream_, asio::buffer(close_event_),
                    [self = self_as<SseSession>()](boost::system::error_code ec, std::size_t) {
                      if (ec) return self->finish(self->close_cause_);
                      // The end of the body. The pending read sees the reader close its side,
                      // or the close deadline closes the socket.
                      boost::system::error_code ignored;
                      self->socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                    });
}

template <typename Stream>
void SseSession<Stream>::abort() {
  boost::system::error_code ignored;
  socket().close(ignored);
}

}  // namespace newspush

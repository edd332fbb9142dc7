// Member definitions of WebSocketSession, included once per stream type by
// websocket_session.cpp (plain TCP) and websocket_session_tls.cpp (TLS).
#pragma once
#include "server/net/websocket_session.hpp"

#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/error.hpp>
#include <span>

#include "protocol/messages.hpp"
#include "server/log.hpp"
#include "server/trending/view_recorder.hpp"

namespace newspush {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace asio = boost::asio;

namespace websocket_detail {

inline constexpr char kFrameSeparator = '\n';
// A command is a few dozen bytes; a connection keeps no more than this between messages.
inline constexpr std::size_t kKeptMessageCapacity = 256;

inline CloseCause cause_of(beast::error_code ec) {
  if (ec == websocket::error::closed) return CloseCause::client;
  if (ec == beast::error::timeout) return CloseCause::timeout;
  if (ec == websocket::condition::protocol_violation || ec == websocket::error::message_too_big ||
      ec == websocket::error::bad_frame_payload)
    return CloseCause::protocol_error;
  return CloseCause::client;
}

inline void close_socket(asio::ip::tcp::socket& socket) {
  beast::error_code ignored;
  socket.close(ignored);
}
inline void close_socket(beast::tcp_stream& stream) { stream.close(); }

// Under TLS the lowest layer is a beast::tcp_stream whose expiry bounded the handshake and the
// HTTP request; from the upgrade on, the WebSocket's own timeouts govern.
inline void disarm_timer(asio::ip::tcp::socket&) {}
inline void disarm_timer(beast::tcp_stream& stream) { stream.expires_never(); }

}  // namespace websocket_detail

template <typename NextLayer>
WebSocketSession<NextLayer>::WebSocketSession(NextLayer&& stream, Worker& worker, ServerState& state,
                                              Admission::ConnectionSlot connection_slot,
                                              Admission::ClientSlot client_slot,
                                              TlsContextPtr tls_context)
    : PushSession(worker, state, Framing::websocket, std::move(connection_slot),
                  std::move(client_slot)),
      tls_context_(std::move(tls_context)),
      ws_(std::move(stream)),
      commands_(2 * state.session.command_rate,
                std::chrono::duration_cast<ErrorBudget::Clock::duration>(std::chrono::seconds(1)) /
                    state.session.command_rate) {}

template <typename NextLayer>
void WebSocketSession<NextLayer>::run(Request request, std::string token) {
  url_token_ = std::move(token);
  websocket_detail::disarm_timer(beast::get_lowest_layer(ws_));
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(30);
  timeouts.idle_timeout = state_.session.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [id = std::string(request["X-Request-Id"])](websocket::response_type& response) {
        response.set(beast::http::field::server, "newspushd/" NEWSPUSH_VERSION);
        response.set("X-Request-Id", id);
      }));
  ws_.read_message_max(state_.session.max_frame);
  // Frames are written whole: the gather write of a batch must not be split or copied.
  ws_.auto_fragment(false);
  ws_.text(true);
  ws_.async_accept(request, beast::bind_front_handler(&WebSocketSession<NextLayer>::on_accept,
                                                      self_as<WebSocketSession>()));
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::on_accept(beast::error_code ec) {
  // The handshake is over: the id need not be kept for the connection's life.
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type&) {}));
  if (ec) {
    if (log_enabled(LogLevel::debug))
      log_event(LogLevel::debug, "websocket.handshake_failed", {{"error", ec.message()}});
    return;
  }
  start();
  hold_until_first_command();
  enqueue(state_.session.welcome);
  if (!url_token_.empty()) {
    authorize(url_token_);
    url_token_ = std::string();
  }
  if (state_.draining.load()) {
    // Accepted in the instant between drain start and the listener closing.
    shut_down();
    return;
  }
  read_next();
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::read_next() {
  // async_read would have Beast reserve 1.5 KB in a buffer for every idle connection, waiting for a
  // command that mostly never comes; small chunks appended to message_ cost that only while a
  // message is actually arriving.
  ws_.async_read_some(asio::buffer(read_chunk_), beast::bind_front_handler(
                                                     &WebSocketSession<NextLayer>::on_read,
                                                     self_as<WebSocketSession>()));
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    finish(closing_ ? close_cause_ : websocket_detail::cause_of(ec));
    return;
  }
  if (closing_) return;  // the close handshake owns the stream now
  if (ws_.got_binary()) {
    close_with(protocol::close_code::unsupported_data, "binary_frame", CloseCause::protocol_error);
    return;
  }
  message_.append(read_chunk_.data(), bytes);
  if (ws_.is_message_done()) {
    if (commands_.spend(ErrorBudget::Clock::now()))
      handle_command(message_);
    else  // answered, and counted against the error budget: one that keeps on is closed (1008)
      reply_error("rate_limited", "too many commands: at most " +
                                      std::to_string(state_.session.command_rate) + " per second");
    message_.clear();
    if (message_.capacity() > websocket_detail::kKeptMessageCapacity) message_.shrink_to_fit();
  }
  if (!closing_) read_next();
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::handle_command(std::string_view text) {
  auto parsed = protocol::parse_command(text, state_.session.max_categories);
  auto* command = std::get_if<protocol::Command>(&parsed);
  auto* subscribe_command = command ? std::get_if<protocol::Subscribe>(command) : nullptr;
  // An auth comes before the subscribe it opens categories for: what waits goes on waiting.
  if (!command || !std::holds_alternative<protocol::Auth>(*command))
    on_first_command(subscribe_command && subscribe_command->since);
  if (auto* error = std::get_if<protocol::CommandError>(&parsed)) {
    reply_error(error->code, error->message);
    return;
  }
  std::visit(
      [this](const auto& command) {
        using T = std::decay_t<decltype(command)>;
        if constexpr (std::is_same_v<T, protocol::Subscribe>) subscribe(command);
        else if constexpr (std::is_same_v<T, protocol::Unsubscribe>) unsubscribe(command);
        else if constexpr (std::is_same_v<T, protocol::View>) view(command);
        else if constexpr (std::is_same_v<T, protocol::Auth>) authorize(command.token);
        else reply(protocol::pong_message());
      },
      *command);
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::view(const protocol::View& command) {
  if (!views_) views_ = std::make_unique<trending::ViewLimiter>();
  switch (views_->admit(command.article, trending::ViewLimiter::Clock::now())) {
    case trending::ViewLimiter::Verdict::duplicate:
      metrics_.count_views(ViewResult::duplicate);
      return;
    case trending::ViewLimiter::Verdict::rate_limited:
      metrics_.count_views(ViewResult::rate_limited);
      return;
    case trending::ViewLimiter::Verdict::count:
      // Counted (or found unknown) once Redis answers.
      state_.views->post_view(command.article);
      return;
  }
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::write_batch(const std::vector<SharedFrame>& batch) {
  // A session's share of a batch goes out as one frame, its messages joined by "\n".
  gather_.clear();
  std::size_t bytes = 0;
  for (const auto& frame : batch) {
    if (!gather_.empty()) gather_.emplace_back(&websocket_detail::kFrameSeparator, 1);
    gather_.emplace_back(frame->data(), frame->size());
    bytes += frame->size();
  }
  worker_.counters().frames_written.add(1);
  worker_.counters().bytes_written.add(bytes + batch.size() - 1);
  // A span, not the vector: the write operation copies its buffer sequence, and a span is cheap.
  ws_.async_write(std::span<const asio::const_buffer>(gather_),
                  [self = self_as<WebSocketSession>()](beast::error_code ec, std::size_t) {
                    self->on_written(!ec);
                  });
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::shut_down() {
  close_with(protocol::close_code::going_away, "shutdown", CloseCause::shutdown);
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::send_close() {
  websocket::close_reason reason(static_cast<websocket::close_code>(close_code_),
                                 protocol::close_reason(close_reason_code_));
  ws_.async_close(reason, [self = self_as<WebSocketSession>()](beast::error_code) {
    self->finish(self->close_cause_);
  });
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::abort() {
  websocket_detail::close_socket(beast::get_lowest_layer(ws_));
}

}  // namespace newspush

// Member definitions of WebSocketSession, included once per stream type by
// websocket_session.cpp (plain TCP) and websocket_session_tls.cpp (TLS).
#pragma once
#include "server/net/websocket_session.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <algorithm>
#include <cerrno>
#include <span>
#include <type_traits>

#include "protocol/messages.hpp"
#include "server/log.hpp"
#include "server/trending/view_recorder.hpp"

namespace newspush {

namespace beast = boost::beast;
namespace asio = boost::asio;

namespace websocket_detail {

inline constexpr char kFrameSeparator = '\n';
// The close handshake and the TCP teardown after it, as Beast bounded them (its handshake
// timeout).
inline constexpr auto kCloseTimeout = std::chrono::seconds(30);
// sendmsg's own bound on buffers per call (IOV_MAX on Linux); a longer batch goes in pieces.
inline constexpr std::size_t kMaxIovecs = 1024;

inline void close_socket(asio::ip::tcp::socket& socket) {
  beast::error_code ignored;
  socket.close(ignored);
}
inline void close_socket(beast::tcp_stream& stream) { stream.close(); }

// Under TLS the lowest layer is a beast::tcp_stream whose expiry bounded the handshake and the
// HTTP request; from the upgrade on, the session's own timer governs.
inline void disarm_timer(asio::ip::tcp::socket&) {}
inline void disarm_timer(beast::tcp_stream& stream) { stream.expires_never(); }

// Drops the first `bytes` of `buffers` (a partial write's remainder).
inline void consume(std::vector<asio::const_buffer>& buffers, std::size_t bytes) {
  std::size_t whole = 0;
  while (whole < buffers.size() && bytes >= buffers[whole].size()) bytes -= buffers[whole++].size();
  buffers.erase(buffers.begin(), buffers.begin() + static_cast<std::ptrdiff_t>(whole));
  if (bytes > 0) buffers.front() += bytes;
}

// One non-blocking sendmsg of as much of `buffers` as the socket takes now: the bytes taken, or
// -1 and `error` (EAGAIN when it takes nothing). MSG_NOSIGNAL: a peer gone is an error, not
// SIGPIPE.
inline long send_now(int fd, const std::vector<asio::const_buffer>& buffers, int& error) {
  std::array<iovec, 64> small;
  std::vector<iovec> large;
  const std::size_t count = std::min(buffers.size(), kMaxIovecs);
  iovec* iov = small.data();
  if (count > small.size()) {
    large.resize(count);
    iov = large.data();
  }
  for (std::size_t i = 0; i < count; ++i)
    iov[i] = {const_cast<void*>(buffers[i].data()), buffers[i].size()};
  msghdr message{};
  message.msg_iov = iov;
  message.msg_iovlen = count;
  long sent;
  do sent = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (sent < 0 && errno == EINTR);
  error = sent < 0 ? errno : 0;
  return sent;
}

}  // namespace websocket_detail

template <typename NextLayer>
WebSocketSession<NextLayer>::WebSocketSession(NextLayer&& stream, Worker& worker, ServerState& state,
                                              Admission::ConnectionSlot connection_slot,
                                              Admission::ClientSlot client_slot,
                                              TlsContextPtr tls_context)
    : PushSession(worker, state, Framing::websocket, std::move(connection_slot),
                  std::move(client_slot)),
      tls_context_(std::move(tls_context)),
      stream_(std::move(stream)),
      codec_(state.session.max_frame),
      idle_timer_(worker.context().get_executor()),
      commands_(2 * state.session.command_rate,
                std::chrono::duration_cast<ErrorBudget::Clock::duration>(std::chrono::seconds(1)) /
                    state.session.command_rate) {}

template <typename NextLayer>
WebSocketSession<NextLayer>::~WebSocketSession() = default;

template <typename NextLayer>
void WebSocketSession<NextLayer>::run(Request request, std::string token) {
  url_token_ = std::move(token);
  websocket_detail::disarm_timer(beast::get_lowest_layer(stream_));
  // Beast over a reference to our stream: it validates the request and writes the 101 (or the
  // refusal), then is dropped; the connection's framing is ours from there on.
  handshake_ = std::make_unique<beast::websocket::stream<NextLayer&>>(stream_);
  beast::websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = websocket_detail::kCloseTimeout;
  timeouts.idle_timeout = beast::websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  handshake_->set_option(timeouts);
  handshake_->set_option(beast::websocket::stream_base::decorator(
      [id = std::string(request["X-Request-Id"])](beast::websocket::response_type& response) {
        response.set(beast::http::field::server, "newspushd/" NEWSPUSH_VERSION);
        response.set("X-Request-Id", id);
      }));
  handshake_->async_accept(request, beast::bind_front_handler(&WebSocketSession<NextLayer>::on_accept,
                                                              self_as<WebSocketSession>()));
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::on_accept(beast::error_code ec) {
  handshake_.reset();
  if (ec) {
    if (log_enabled(LogLevel::debug))
      log_event(LogLevel::debug, "websocket.handshake_failed", {{"error", ec.message()}});
    close_ = Close::done;
    websocket_detail::close_socket(beast::get_lowest_layer(stream_));
    return;
  }
  start();
  hold_until_first_command();
  arm_idle_timer(keep_alive_interval());
  enqueue(state_.session.welcome);
  if (!url_token_.empty()) {
    authorize(url_token_);
    url_token_ = std::string();
  }
  if (state_.draining.load()) {
    // Accepted in the instant between drain start and the listener closing.
    shut_down();
  }
  read_next();
}

// ---- reading ----------------------------------------------------------------------------------

template <typename NextLayer>
void WebSocketSession<NextLayer>::read_next() {
  // A small chunk, not a message-sized buffer: an idle connection waits for a command that
  // mostly never comes; the codec assembles a message only while one is actually arriving.
  stream_.async_read_some(
      asio::buffer(read_chunk_),
      asio::bind_allocator(HandlerAllocator<char>(read_memory_),
                           beast::bind_front_handler(&WebSocketSession<NextLayer>::on_read,
                                                     self_as<WebSocketSession>())));
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::on_read(beast::error_code ec, std::size_t bytes) {
  if (close_ >= Close::replying) return;  // the teardown or fail() owns the socket now
  if (ec) {
    // The peer left without a close frame (or reset): a client's doing.
    fail(CloseCause::client);
    return;
  }
  pinged_ = false;  // anything from the peer proves it alive
  std::string_view input(read_chunk_.data(), bytes);
  for (;;) {
    const websocket::Event event = codec_.read(input);
    if (event.kind == websocket::EventKind::need_more) break;
    if (!on_event(event)) return;
  }
  // Unused capacity of a past big message is not kept by an idle connection.
  if (!codec_.in_message()) codec_.release_buffer();
  if (close_ <= Close::close_sent) read_next();
}

template <typename NextLayer>
bool WebSocketSession<NextLayer>::on_event(const websocket::Event& event) {
  using websocket::EventKind;
  switch (event.kind) {
    case EventKind::text:
      if (close_ == Close::open && !closing_) on_message(event.payload);
      break;
    case EventKind::binary:
      close_with(protocol::close_code::unsupported_data, "binary_frame", CloseCause::protocol_error);
      break;
    case EventKind::ping:
      if (close_ == Close::open || close_ == Close::closing)
        queue_control(websocket::pong_frame(event.payload), false);
      break;
    case EventKind::pong:
    case EventKind::need_more:
      break;
    case EventKind::close_received:
      // Its code echoed (RFC 6455 5.5.1), what is still queued dropped, as Beast did.
      end_with_close(event.code, CloseCause::client);
      return false;
    case EventKind::close_completed:
      tear_down();
      return false;
    case EventKind::failed:
      // 1002, 1007 or 1009 as the codec found; no second close frame after our own.
      end_with_close(event.code, CloseCause::protocol_error);
      return false;
  }
  // A command may have ended the connection (a write error closes the socket).
  return close_ <= Close::close_sent;
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::on_message(std::string_view text) {
  if (commands_.spend(ErrorBudget::Clock::now()))
    handle_command(text);
  else  // answered, and counted against the error budget: one that keeps on is closed (1008)
    reply_error("rate_limited", "too many commands: at most " +
                                    std::to_string(state_.session.command_rate) + " per second");
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

// ---- writing ----------------------------------------------------------------------------------

template <typename NextLayer>
bool WebSocketSession<NextLayer>::write_batch(const std::vector<SharedFrame>& batch) {
  // Nothing may follow a close frame: the batch is dropped, the connection is ending.
  if (close_ >= Close::close_sent) return true;
  batch_ = &batch;
  in_write_batch_ = true;
  batch_done_now_ = false;
  write_pending();
  in_write_batch_ = false;
  return batch_done_now_;
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::queue_control(websocket::ControlFrame frame, bool is_close) {
  // Only the newest ping needs its pong (RFC 6455 5.5.3); a close supersedes what waits.
  if (control_ && control_is_close_ && !is_close) return;
  control_ = frame;
  control_is_close_ = is_close;
  write_pending();
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::write_pending() {
  if (write_in_flight_ || close_ >= Close::tearing_down) return;
  if (!control_ && !batch_) return;
  gather_.clear();
  if (control_) {
    control_in_flight_ = *control_;
    close_in_flight_ = control_is_close_;
    control_.reset();
    gather_.emplace_back(control_in_flight_.bytes().data(), control_in_flight_.bytes().size());
  }
  // A close frame ends what this side sends: a batch behind it waits and is then dropped.
  if (batch_ && !close_in_flight_) {
    const auto& batch = *batch_;
    batch_in_flight_ = true;
    std::size_t bytes = 0;
    if (batch.size() == 1) {
      // The frame as the event factory built it, shared by every recipient.
      gather_.emplace_back(batch.front()->data(), batch.front()->size());
      bytes = websocket_payload(*batch.front()).size();
    } else {
      // Corked: a session's share of a batch goes out as one frame, its messages joined by "\n"
      // (PROTOCOL.md); only the header is this session's own, the payloads are shared.
      const std::size_t header_index = gather_.size();
      gather_.emplace_back();  // the header, once the size is known
      for (const auto& frame : batch) {
        const std::string_view payload = websocket_payload(*frame);
        if (header_index + 1 < gather_.size())
          gather_.emplace_back(&websocket_detail::kFrameSeparator, 1);
        gather_.emplace_back(payload.data(), payload.size());
        bytes += payload.size();
      }
      bytes += batch.size() - 1;
      const std::size_t header =
          websocket::write_header(batch_header_.data(), websocket::Opcode::text, bytes);
      gather_[header_index] = asio::const_buffer(batch_header_.data(), header);
    }
    worker_.counters().frames_written.add(1);
    worker_.counters().bytes_written.add(bytes);
  }
  write_in_flight_ = true;
  send_gathered();
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::send_gathered() {
  if constexpr (std::is_same_v<NextLayer, asio::ip::tcp::socket>) {
    // Nothing queued in the socket's name: hand the bytes to the kernel now, no handler at all.
    // Only what it does not take (a full socket buffer) waits for an asynchronous write.
    int error = 0;
    const long sent = websocket_detail::send_now(stream_.native_handle(), gather_, error);
    if (sent < 0 && error != EAGAIN && error != EWOULDBLOCK) {
      on_write(beast::error_code(error, boost::system::system_category()));
      return;
    }
    std::size_t total = 0;
    for (const auto& buffer : gather_) total += buffer.size();
    if (sent >= 0 && static_cast<std::size_t>(sent) == total) {
      on_write({});
      return;
    }
    if (sent > 0) websocket_detail::consume(gather_, static_cast<std::size_t>(sent));
  }
  // A span, not the vector: the write operation copies its buffer sequence, and a span is cheap.
  asio::async_write(stream_, std::span<const asio::const_buffer>(gather_),
                    asio::bind_allocator(HandlerAllocator<char>(write_memory_),
                                         [self = self_as<WebSocketSession>()](
                                             beast::error_code ec, std::size_t) {
                                           self->on_write(ec);
                                         }));
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::on_write(beast::error_code ec) {
  write_in_flight_ = false;
  const bool wrote_batch = std::exchange(batch_in_flight_, false);
  const bool wrote_close = std::exchange(close_in_flight_, false);
  gather_.clear();
  if (wrote_batch) batch_ = nullptr;
  // Written at once from write_batch: returned there; otherwise PushSession is told, and may
  // hand over its next batch from here.
  const bool report = wrote_batch && !in_write_batch_;
  if (wrote_batch && in_write_batch_) batch_done_now_ = true;
  if (ec) {
    if (close_ < Close::tearing_down) fail(CloseCause::client);
    if (report) on_written(false);
    return;
  }
  if (wrote_close) on_close_sent();
  if (report) on_written(true);
  write_pending();
}

// ---- closing ----------------------------------------------------------------------------------

template <typename NextLayer>
void WebSocketSession<NextLayer>::shut_down() {
  close_with(protocol::close_code::going_away, "shutdown", CloseCause::shutdown);
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::send_close() {
  // PushSession flushed what was queued; the peer may have closed first (our reply is then the
  // close frame, and this one is not sent).
  if (close_ != Close::open) return;
  close_ = Close::closing;
  queue_control(websocket::close_frame(static_cast<std::uint16_t>(close_code_),
                                       protocol::close_reason(close_reason_code_)),
                true);
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::on_close_sent() {
  codec_.close_sent();
  if (close_ == Close::replying) {
    tear_down();
    return;
  }
  // Ours started the handshake: the reads go on until the peer's close, within PushSession's
  // close deadline (abort()).
  close_ = Close::close_sent;
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::end_with_close(std::uint16_t code, CloseCause cause) {
  finish(closing_ ? close_cause_ : cause);
  control_.reset();
  const bool close_already_out = close_ == Close::close_sent;
  close_ = Close::replying;
  arm_idle_timer(websocket_detail::kCloseTimeout);
  if (close_already_out) {
    tear_down();
    return;
  }
  // Ours is being written (on_close_sent tears down next), or this one is the close.
  if (!close_in_flight_) queue_control(websocket::close_frame(code), true);
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::tear_down() {
  if (close_ >= Close::tearing_down) return;
  close_ = Close::tearing_down;
  arm_idle_timer(websocket_detail::kCloseTimeout);
  // Beast's teardown: TLS close_notify, or for TCP a shutdown of our side and a wait for the
  // peer's end, so that unread bytes never turn the close into a reset before our close frame
  // is read.
  using beast::websocket::async_teardown;  // found by ADL for beast::ssl_stream
  async_teardown(
      beast::role_type::server, stream_,
      asio::bind_allocator(HandlerAllocator<char>(read_memory_),
                           [self = self_as<WebSocketSession>()](beast::error_code) {
                             if (self->close_ == Close::done) return;
                             self->close_ = Close::done;
                             self->idle_timer_.cancel();
                             websocket_detail::close_socket(beast::get_lowest_layer(self->stream_));
                             self->finish(self->close_cause_);
                           }));
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::fail(CloseCause cause) {
  if (close_ == Close::done) return;
  close_ = Close::done;
  finish(closing_ ? close_cause_ : cause);
  idle_timer_.cancel();
  websocket_detail::close_socket(beast::get_lowest_layer(stream_));
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::abort() {
  // The close deadline passed: a peer that stopped reading never lets our close out.
  fail(close_cause_);
}

// ---- keep-alive -------------------------------------------------------------------------------

template <typename NextLayer>
void WebSocketSession<NextLayer>::arm_idle_timer(std::chrono::steady_clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait(asio::bind_allocator(
      HandlerAllocator<char>(timer_memory_),
      beast::bind_front_handler(&WebSocketSession<NextLayer>::on_idle_timer,
                                self_as<WebSocketSession>())));
}

template <typename NextLayer>
void WebSocketSession<NextLayer>::on_idle_timer(beast::error_code ec) {
  if (ec || close_ == Close::done) return;  // cancelled or re-armed
  if (close_ >= Close::replying) {
    // The peer never finished the close handshake or the teardown.
    fail(close_cause_);
    return;
  }
  if (!pinged_) {
    pinged_ = true;
    if (close_ <= Close::closing) queue_control(websocket::ping_frame(), false);
    arm_idle_timer(keep_alive_interval());
    return;
  }
  fail(CloseCause::timeout);
}

}  // namespace newspush

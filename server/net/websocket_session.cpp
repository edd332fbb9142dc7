#include "server/net/websocket_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/error.hpp>
#include <span>

#include "protocol/messages.hpp"
#include "server/log.hpp"

namespace newspush {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace asio = boost::asio;

namespace {

constexpr unsigned kErrorBudget = 10;
constexpr auto kErrorRefill = std::chrono::seconds(6);
// A peer that stopped reading never lets our close frame out: give a stalled client (a phone in
// a tunnel) time to wake up, drain and learn why it was closed, but do not hold a dead one.
constexpr auto kCloseDeadline = std::chrono::seconds(30);
constexpr char kFrameSeparator = '\n';

CloseCause cause_of(beast::error_code ec) {
  if (ec == websocket::error::closed) return CloseCause::client;
  if (ec == beast::error::timeout) return CloseCause::timeout;
  if (ec == websocket::condition::protocol_violation || ec == websocket::error::message_too_big ||
      ec == websocket::error::bad_frame_payload)
    return CloseCause::protocol_error;
  return CloseCause::client;
}

}  // namespace

WebSocketSession::WebSocketSession(beast::tcp_stream&& stream, Worker& worker, ServerState& state)
    : ws_(std::move(stream)),
      worker_(worker),
      state_(state),
      metrics_(state.metrics),
      queue_(state.session.max_send_queue),
      errors_(kErrorBudget, kErrorRefill),
      close_deadline_(ws_.get_executor()) {}

WebSocketSession::~WebSocketSession() { finish(CloseCause::client); }

void WebSocketSession::run(Request request) {
  // Beast's own timers take over from the HTTP read deadline.
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(30);
  timeouts.idle_timeout = state_.session.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
    response.set(beast::http::field::server, "newspushd/" NEWSPUSH_VERSION);
  }));
  ws_.read_message_max(state_.session.max_frame);
  // Frames are written whole: the gather write of a batch must not be split or copied.
  ws_.auto_fragment(false);
  ws_.text(true);
  ws_.async_accept(request, beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
}

void WebSocketSession::on_accept(beast::error_code ec) {
  if (ec) {
    log_debug("websocket handshake failed: " + ec.message());
    return;
  }
  registered_ = true;
  worker_.index().add(this);
  metrics_.connections_opened.fetch_add(1, std::memory_order_relaxed);
  metrics_.connections_current.fetch_add(1, std::memory_order_relaxed);
  enqueue(state_.session.welcome);
  if (state_.draining.load()) {
    // Accepted in the instant between drain start and the listener closing.
    shut_down();
    return;
  }
  read_next();
}

void WebSocketSession::read_next() {
  ws_.async_read(read_buffer_, beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
}

void WebSocketSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    finish(closing_ ? close_cause_ : cause_of(ec));
    return;
  }
  if (closing_) return;  // the close handshake owns the stream now
  if (ws_.got_binary()) {
    close_with(protocol::close_code::unsupported_data, "binary_frame", CloseCause::protocol_error);
    return;
  }
  auto data = read_buffer_.cdata();
  handle_command(std::string_view(static_cast<const char*>(data.data()), data.size()));
  read_buffer_.consume(read_buffer_.size());
  // An idle connection should not pin the largest frame it ever sent.
  if (read_buffer_.capacity() > 4096) read_buffer_.shrink_to_fit();
  if (!closing_) read_next();
}

void WebSocketSession::handle_command(std::string_view text) {
  auto parsed = protocol::parse_command(text, state_.session.max_categories);
  if (auto* error = std::get_if<protocol::CommandError>(&parsed)) {
    reply_error(error->code, error->message);
    return;
  }
  std::visit(
      [this](const auto& command) {
        using T = std::decay_t<decltype(command)>;
        if constexpr (std::is_same_v<T, protocol::Subscribe>) subscribe(command);
        else if constexpr (std::is_same_v<T, protocol::Unsubscribe>) unsubscribe(command);
        else reply(protocol::pong_message());
      },
      std::get<protocol::Command>(parsed));
}

void WebSocketSession::subscribe(const protocol::Subscribe& command) {
  auto& index = worker_.index();
  auto current = index.categories_of(this);
  std::size_t added = 0;
  for (const auto& category : command.categories)
    if (!std::binary_search(current.begin(), current.end(), category)) ++added;
  if (current.size() + added > state_.session.max_categories) {
    reply_error("too_many_categories", "a connection may hold at most " +
                                           std::to_string(state_.session.max_categories) +
                                           " categories");
    return;
  }
  for (const auto& category : command.categories) index.subscribe(this, category);
  reply(protocol::subscribed_message(index.categories_of(this)));
}

void WebSocketSession::unsubscribe(const protocol::Unsubscribe& command) {
  auto& index = worker_.index();
  for (const auto& category : command.categories) index.unsubscribe(this, category);
  reply(protocol::subscribed_message(index.categories_of(this)));
}

void WebSocketSession::reply(std::string message) {
  enqueue(std::make_shared<const std::string>(std::move(message)));
}

void WebSocketSession::reply_error(std::string_view code, std::string_view message) {
  metrics_.client_errors.fetch_add(1, std::memory_order_relaxed);
  reply(protocol::error_message(code, message));
  if (!errors_.spend(ErrorBudget::Clock::now()))
    close_with(protocol::close_code::policy_violation, "too_many_errors", CloseCause::too_many_errors);
}

void WebSocketSession::deliver(const SharedFrame& frame) {
  if (closing_ || !registered_) return;
  enqueue(frame);
}

void WebSocketSession::enqueue(const SharedFrame& frame) {
  if (closing_) return;
  if (!queue_.push(frame)) {
    // Dropping the backlog is what bounds memory; the client resumes from its last article.
    queue_.clear();
    close_with(protocol::close_code::try_again_later, "slow_consumer", CloseCause::slow_consumer);
    return;
  }
  if (queue_.bytes() > queue_peak_) {
    queue_peak_ = queue_.bytes();
    metrics_.observe_queue(queue_peak_);
  }
  if (!writing_) write_queued();
}

void WebSocketSession::write_queued() {
  queue_.take_all(in_flight_);
  gather_.clear();
  std::size_t bytes = 0;
  for (const auto& frame : in_flight_) {
    if (!gather_.empty()) gather_.emplace_back(&kFrameSeparator, 1);
    gather_.emplace_back(frame->data(), frame->size());
    bytes += frame->size();
  }
  metrics_.frames_written.fetch_add(1, std::memory_order_relaxed);
  metrics_.bytes_written.fetch_add(bytes + in_flight_.size() - 1, std::memory_order_relaxed);
  writing_ = true;
  // A span, not the vector: the write operation copies its buffer sequence, and a span is cheap.
  ws_.async_write(std::span<const asio::const_buffer>(gather_),
                  beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
}

void WebSocketSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  in_flight_.clear();
  if (ec) return;  // the pending read reports the end of the connection
  if (!queue_.empty()) {
    write_queued();
  } else if (closing_) {
    start_close();
  }
}

void WebSocketSession::shut_down() {
  close_with(protocol::close_code::going_away, "shutdown", CloseCause::shutdown);
}

void WebSocketSession::close_with(int code, std::string_view reason_code, CloseCause cause) {
  if (closing_ || finished_) return;
  closing_ = true;
  close_code_ = code;
  close_reason_ = protocol::close_reason(reason_code);
  close_cause_ = cause;
  // Counted when decided: the socket of a peer that stopped reading may linger until the deadline.
  if (registered_) metrics_.count_close(cause);
  if (cause != CloseCause::client && cause != CloseCause::shutdown)
    log_debug("closing connection with " + std::to_string(code) + " " + close_reason_);
  // Armed now, not at start_close: a peer that stopped reading may never let the flush finish.
  close_deadline_.expires_after(kCloseDeadline);
  close_deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).socket().close(ignored);
  });
  if (!writing_) start_close();
  // Else on_write flushes what is queued, then closes.
}

void WebSocketSession::start_close() {
  if (close_started_) return;
  close_started_ = true;
  websocket::close_reason reason(static_cast<websocket::close_code>(close_code_), close_reason_);
  ws_.async_close(reason, beast::bind_front_handler(&WebSocketSession::on_close, shared_from_this()));
}

void WebSocketSession::on_close(beast::error_code) {
  finish(close_cause_);
}

void WebSocketSession::finish(CloseCause cause) {
  if (finished_) return;
  finished_ = true;
  queue_.clear();
  close_deadline_.cancel();
  if (!registered_) return;
  worker_.index().remove(this);
  metrics_.connections_current.fetch_sub(1, std::memory_order_relaxed);
  if (!closing_) metrics_.count_close(cause);  // else counted by close_with
}

}  // namespace newspush

#include "server/net/websocket_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/error.hpp>
#include <span>

#include "protocol/messages.hpp"
#include "server/trending/view_recorder.hpp"
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
// A command is a few dozen bytes; a connection keeps no more than this between messages.
constexpr std::size_t kKeptMessageCapacity = 256;
// A client that resumes sends its subscribe at once; one that sends nothing still gets its
// breaking news, this much later at most.
constexpr auto kFirstCommandWait = std::chrono::seconds(2);

CloseCause cause_of(beast::error_code ec) {
  if (ec == websocket::error::closed) return CloseCause::client;
  if (ec == beast::error::timeout) return CloseCause::timeout;
  if (ec == websocket::condition::protocol_violation || ec == websocket::error::message_too_big ||
      ec == websocket::error::bad_frame_payload)
    return CloseCause::protocol_error;
  return CloseCause::client;
}

}  // namespace

WebSocketSession::WebSocketSession(asio::ip::tcp::socket&& socket, Worker& worker, ServerState& state,
                                   Admission::ConnectionSlot connection_slot,
                                   Admission::ClientSlot client_slot)
    : ws_(std::move(socket)),
      worker_(worker),
      state_(state),
      metrics_(state.metrics),
      queue_(state.session.max_send_queue),
      errors_(kErrorBudget, kErrorRefill),
      commands_(2 * state.session.command_rate,
                std::chrono::duration_cast<ErrorBudget::Clock::duration>(std::chrono::seconds(1)) /
                    state.session.command_rate),
      connection_slot_(std::move(connection_slot)),
      client_slot_(std::move(client_slot)),
      close_deadline_(ws_.get_executor()) {}

WebSocketSession::~WebSocketSession() { finish(CloseCause::client); }

void WebSocketSession::run(Request request) {
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
  // The close deadline's timer is free until the connection closes (close_with re-arms it,
  // cancelling this wait).
  close_deadline_.expires_after(kFirstCommandWait);
  close_deadline_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closing_) return;
    if (self->resume_ == Resume::before_first_command) self->release_held();
  });
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
  // async_read would have Beast reserve 1.5 KB in a buffer for every idle connection, waiting for a
  // command that mostly never comes; small chunks appended to message_ cost that only while a
  // message is actually arriving.
  ws_.async_read_some(asio::buffer(read_chunk_),
                      beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
}

void WebSocketSession::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    finish(closing_ ? close_cause_ : cause_of(ec));
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
    if (message_.capacity() > kKeptMessageCapacity) message_.shrink_to_fit();
  }
  if (!closing_) read_next();
}

void WebSocketSession::handle_command(std::string_view text) {
  auto parsed = protocol::parse_command(text, state_.session.max_categories);
  if (resume_ == Resume::before_first_command) {
    auto* command = std::get_if<protocol::Command>(&parsed);
    auto* subscribe = command ? std::get_if<protocol::Subscribe>(command) : nullptr;
    // A resume takes what waited as the live events that follow its replay.
    if (!subscribe || !subscribe->since) release_held();
  }
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
        else reply(protocol::pong_message());
      },
      std::get<protocol::Command>(parsed));
}

void WebSocketSession::subscribe(const protocol::Subscribe& command) {
  auto& index = worker_.index();
  auto current = index.categories_of(this);
  if (command.since && (resumed_ || !current.empty() ||
                        (resume_ != Resume::none && resume_ != Resume::before_first_command))) {
    // A replay on a connection that already receives events could repeat some of them, and
    // each costs a read of the history: one per connection.
    reply_error("bad_since", "\"since\" is only accepted on a connection's first subscribe");
    return;
  }
  std::size_t added = 0;
  for (const auto& category : command.categories)
    if (!std::binary_search(current.begin(), current.end(), category)) ++added;
  auto requested = worker_.trending_requests().keys_of(this);
  std::size_t requested_added = 0;
  for (const auto& category : command.trending)
    if (!std::binary_search(requested.begin(), requested.end(), category)) ++requested_added;
  if (current.size() + added > state_.session.max_categories ||
      requested.size() + requested_added > state_.session.max_categories) {
    reply_error("too_many_categories", "a connection may hold at most " +
                                           std::to_string(state_.session.max_categories) +
                                           " categories (and as many trending lists)");
    return;
  }
  change_trending_lists([&] {
    for (const auto& category : command.categories) {
      if (!std::binary_search(current.begin(), current.end(), category))
        worker_.subscriptions().add(category, +1);
      index.subscribe(this, category);
    }
    for (const auto& category : command.trending) worker_.trending_requests().add(this, category);
    if (command.since) {
      reply_subscribed(*command.since);
    } else {
      reply_subscribed(worker_.head());
    }
  });
  if (command.since) resume_from(*command.since);
}

void WebSocketSession::reply_subscribed(std::string_view cursor) {
  reply(protocol::subscribed_message(worker_.index().categories_of(this), cursor,
                                     worker_.trending_requests().keys_of(this)));
}

template <typename Change>
void WebSocketSession::change_trending_lists(Change&& change) {
  auto before = worker_.trending_lists_of(this);
  change();
  for (const auto& category : worker_.trending_lists_of(this)) {
    if (std::binary_search(before.begin(), before.end(), category)) continue;
    if (auto list = worker_.trending(category)) deliver_trending(list);
  }
}

void WebSocketSession::view(const protocol::View& command) {
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

void WebSocketSession::deliver_trending(const TrendingPtr& list) {
  if (closing_ || !registered_) return;
  // Rankings are not part of the article order: they skip any replay in progress.
  if (queue_.push_latest(list->category, SharedFrame(list, &list->frame)))
    metrics_.trending_conflated.fetch_add(1, std::memory_order_relaxed);
  write_soon();
}

void WebSocketSession::resume_from(const std::string& since) {
  resumed_ = true;
  if (resume_from_window(since)) return;
  auto slot = state_.history_reads->try_take();
  if (!slot) {
    // Older than the window, and other resumes are reading Redis: this one waits at the client.
    close_with(protocol::close_code::try_again_later, "history_busy", CloseCause::history_busy);
    return;
  }
  resume_ = Resume::waiting_for_history;
  // A weak reference: the reply travels through the control thread, which must never hold the
  // last reference (the session's destructor edits its worker's index). A session that ended
  // meanwhile needs no replay. The slot is given back when the reply is done with.
  state_.history->post_read_after(
      since, state_.session.replay, ws_.get_executor(),
      [weak = weak_from_this(), since, slot](HistoryRead read) {
        if (auto self = weak.lock()) self->on_replay(since, std::move(read));
      });
}

bool WebSocketSession::wants(const ArticleEvent& event,
                             const std::vector<std::string>& categories) const {
  return event.breaking ||
         std::binary_search(categories.begin(), categories.end(),
                            std::string(protocol::kAllCategories)) ||
         std::binary_search(categories.begin(), categories.end(), event.category);
}

bool WebSocketSession::resume_from_window(const std::string& since) {
  auto cursor = protocol::parse_cursor(since);
  if (!cursor) return false;  // the history names what is wrong with it
  auto categories = worker_.index().categories_of(this);
  auto replay = state_.window->after(*cursor, state_.session.replay,
                                     [&](const ArticleEvent& event) { return wants(event, categories); });
  switch (replay.outcome) {
    case ReplayWindow::Outcome::not_held:
      return false;
    case ReplayWindow::Outcome::too_long:
      queue_reset(kReplayTooLong, protocol::to_string(*replay.up_to));
      break;
    case ReplayWindow::Outcome::replayed:
      metrics_.replays_from_window.fetch_add(1, std::memory_order_relaxed);
      queue_replay(since, replay.events, replay.up_to);
      break;
  }
  for (const auto& event : held_) append_to_backlog(event);  // already counted
  held_.clear();
  start_draining_backlog();
  return true;
}

void WebSocketSession::on_replay(const std::string& since, HistoryRead read) {
  if (closing_ || finished_) return;
  if (!read.ok) {
    // Resuming without the history would silently lose articles: let the client come back.
    log_warn("cannot replay history for a resuming client: " + read.error);
    close_with(protocol::close_code::try_again_later, "history_unavailable",
               CloseCause::history_unavailable);
    return;
  }
  metrics_.replays_from_redis.fetch_add(1, std::memory_order_relaxed);
  if (!read.reset_reason.empty()) {
    queue_reset(read.reset_reason, read.head);
  } else {
    auto categories = worker_.index().categories_of(this);
    std::vector<EventPtr> wanted;
    for (const auto& event : read.events)
      if (wants(*event, categories)) wanted.push_back(event);
    auto up_to = read.events.empty() ? protocol::parse_cursor(since) : read.events.back()->cursor;
    queue_replay(since, wanted, up_to);
  }
  if (log_enabled(LogLevel::debug))
    log_debug("replay since " + since + ": " + std::to_string(read.events.size()) + " read, " +
              std::to_string(held_.size()) + " held, reset '" + read.reset_reason + "'");
  for (const auto& event : held_) append_to_backlog(event);  // already counted
  held_.clear();
  start_draining_backlog();
}

void WebSocketSession::queue_replay(const std::string& since, const std::vector<EventPtr>& events,
                                    const std::optional<protocol::Cursor>& up_to) {
  replayed_up_to_ = up_to;
  for (const auto& event : events) backlog_.emplace_back(event, &event->frame);
  std::string position = up_to ? protocol::to_string(*up_to) : since;
  backlog_.push_back(
      std::make_shared<const std::string>(protocol::resumed_message(events.size(), position)));
}

void WebSocketSession::queue_reset(const std::string& reason, const std::string& head) {
  metrics_.replay_resets.fetch_add(1, std::memory_order_relaxed);
  backlog_.push_back(std::make_shared<const std::string>(protocol::reset_message(reason, head)));
  // The client carries on from the head: what is older is in the list it reloads, not news.
  replayed_up_to_ = protocol::parse_cursor(head);
}

void WebSocketSession::release_held() {
  resume_ = Resume::none;
  live_backlog_bytes_ = 0;
  auto held = std::move(held_);
  held_.clear();
  for (const auto& event : held) enqueue(SharedFrame(event, &event->frame));
}

void WebSocketSession::start_draining_backlog() {
  resume_ = Resume::draining_backlog;
  pump_backlog();
}

void WebSocketSession::hold(const EventPtr& event) {
  if (resume_ == Resume::waiting_for_history || resume_ == Resume::before_first_command) {
    held_.push_back(event);
    count_backlog(*event);
    return;
  }
  append_to_backlog(event);
  // The queue may be idle: nothing else would move this event along.
  pump_backlog();
}

void WebSocketSession::append_to_backlog(const EventPtr& event) {
  // Already replayed from the history (published before the read): skip.
  if (event->cursor && replayed_up_to_ && event->cursor->epoch == replayed_up_to_->epoch &&
      !event->cursor->is_after(*replayed_up_to_))
    return;
  backlog_.emplace_back(event, &event->frame);
  if (resume_ == Resume::draining_backlog) count_backlog(*event);
}

void WebSocketSession::count_backlog(const ArticleEvent& event) {
  live_backlog_bytes_ += event.frame.size();
  if (live_backlog_bytes_ > state_.session.max_send_queue)
    close_with(protocol::close_code::try_again_later, "slow_consumer", CloseCause::slow_consumer);
}

void WebSocketSession::pump_backlog() {
  if (resume_ != Resume::draining_backlog) return;
  // Half the bound: room stays for the live events and replies that follow.
  std::size_t budget = state_.session.max_send_queue / 2;
  while (!backlog_.empty() && !closing_ && (queue_.empty() || queue_.bytes() + backlog_.front()->size() <= budget)) {
    enqueue(backlog_.front());
    backlog_.pop_front();
  }
  if (backlog_.empty()) {
    resume_ = Resume::none;
    live_backlog_bytes_ = 0;
  }
}

void WebSocketSession::unsubscribe(const protocol::Unsubscribe& command) {
  auto& index = worker_.index();
  auto current = index.categories_of(this);
  // Unsubscribing "*" lists the named categories again: their lists start.
  change_trending_lists([&] {
    for (const auto& category : command.categories) {
      if (std::binary_search(current.begin(), current.end(), category))
        worker_.subscriptions().add(category, -1);
      index.unsubscribe(this, category);
    }
    for (const auto& category : command.trending)
      worker_.trending_requests().remove(this, category);
  });
  reply_subscribed({});
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

void WebSocketSession::deliver(const EventPtr& event) {
  if (closing_ || !registered_) return;
  if (resume_ != Resume::none) {
    hold(event);
    return;
  }
  if (replayed_up_to_ && event->cursor) {
    // The history read and the live subscription use two Redis connections: an event read in
    // the replay may still arrive live afterwards. Once the live stream passes the replay, they
    // cannot overlap any more.
    if (event->cursor->epoch == replayed_up_to_->epoch && !event->cursor->is_after(*replayed_up_to_)) {
      log_debug("dropped a live event already replayed: " + protocol::to_string(*event->cursor));
      return;
    }
    replayed_up_to_.reset();
  }
  // Aliasing pointer: shares the event's ownership, points at its frame; a reference-count
  // increment, no allocation.
  enqueue(SharedFrame(event, &event->frame));
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
  write_soon();
}

void WebSocketSession::write_soon() {
  if (writing_) return;  // on_write takes what is queued
  if (!worker_.corked()) {
    write_queued();
    return;
  }
  if (flush_requested_) return;
  flush_requested_ = true;
  worker_.defer_flush(this);
}

void WebSocketSession::flush() {
  flush_requested_ = false;
  if (!writing_ && !queue_.empty()) write_queued();
  else if (!writing_ && closing_) start_close();
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
  if (ec) {
    // While open, the pending read reports the end of the connection; once closing, no read is
    // pending any more, so the failed flush ends it here.
    if (closing_) finish(close_cause_);
    return;
  }
  pump_backlog();
  if (writing_) return;  // pumping started the next write
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
    beast::get_lowest_layer(self->ws_).close(ignored);
  });
  if (writing_ || flush_requested_) return;  // on_write or flush() sends what is queued, then closes
  if (queue_.empty()) start_close();
  else write_queued();
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
  backlog_.clear();
  held_.clear();
  close_deadline_.cancel();
  if (!registered_) return;
  for (const auto& category : worker_.index().categories_of(this))
    worker_.subscriptions().add(category, -1);
  worker_.index().remove(this);
  worker_.trending_requests().remove_all(this);
  metrics_.connections_current.fetch_sub(1, std::memory_order_relaxed);
  if (!closing_) metrics_.count_close(cause);  // else counted by close_with
}

}  // namespace newspush

#include "server/net/push_session.hpp"

#include <algorithm>

#include "protocol/messages.hpp"
#include "protocol/sse.hpp"
#include "server/log.hpp"

namespace newspush {

namespace asio = boost::asio;

namespace {

constexpr unsigned kErrorBudget = 10;
constexpr auto kErrorRefill = std::chrono::seconds(6);
// A peer that stopped reading never lets our close out: give a stalled client (a phone in a
// tunnel) time to wake up, drain and learn why it was closed, but do not hold a dead one.
constexpr auto kCloseDeadline = std::chrono::seconds(30);
// A client that resumes sends its subscribe at once; one that sends nothing still gets its
// breaking news, this much later at most.
constexpr auto kFirstCommandWait = std::chrono::seconds(2);

// The history read and the live subscription use two Redis connections: an event read in the
// replay may still arrive live afterwards.
bool already_replayed(const ArticleEvent& event, const std::optional<protocol::Cursor>& up_to) {
  return event.cursor && up_to && event.cursor->is_at_or_before(*up_to);
}

}  // namespace

PushSession::PushSession(Worker& worker, ServerState& state, Framing framing,
                         Admission::ConnectionSlot connection_slot,
                         Admission::ClientSlot client_slot)
    : worker_(worker),
      state_(state),
      metrics_(state.metrics),
      framing_(framing),
      queue_(state.session.max_send_queue),
      token_timer_(worker.context().get_executor()),
      errors_(kErrorBudget, kErrorRefill),
      connection_slot_(std::move(connection_slot)),
      client_slot_(std::move(client_slot)),
      close_deadline_(worker.context().get_executor()) {}

PushSession::~PushSession() { finish(CloseCause::client); }

void PushSession::start() {
  registered_ = true;
  worker_.index().add(this);
  metrics_.connections_opened.fetch_add(1, std::memory_order_relaxed);
  metrics_.connections_current.fetch_add(1, std::memory_order_relaxed);
}

void PushSession::hold_until_first_command() {
  resume_ = Resume::before_first_command;
  // The close deadline's timer is free until the connection closes (close_with re-arms it,
  // cancelling this wait).
  close_deadline_.expires_after(kFirstCommandWait);
  close_deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closing_) return;
    if (self->resume_ == Resume::before_first_command) self->release_held();
  });
}

void PushSession::on_first_command(bool resumes) {
  // A resume takes what waited as the live events that follow its replay.
  if (resume_ == Resume::before_first_command && !resumes) release_held();
}

void PushSession::subscribe(const protocol::Subscribe& requested) {
  if (!state_.restricted.any()) return apply_subscribe(requested);
  protocol::Subscribe command = requested;
  std::vector<std::pair<std::string, bool>> forbidden;  // category, is a trending list
  auto keep_readable = [&](std::vector<std::string>& list, bool trending) {
    std::erase_if(list, [&](const std::string& category) {
      if (may_read(category)) return false;
      forbidden.emplace_back(category, trending);
      return true;
    });
  };
  keep_readable(command.categories, false);
  keep_readable(command.trending, true);
  if (!command.categories.empty() || !command.trending.empty()) apply_subscribe(command);
  if (forbidden.empty()) return;
  // One mistake, however many names it held: the budget counts commands.
  metrics_.client_errors.fetch_add(1, std::memory_order_relaxed);
  for (const auto& [category, trending] : forbidden) reply(protocol::forbidden_message(category, trending));
  if (!errors_.spend(ErrorBudget::Clock::now()))
    close_with(protocol::close_code::policy_violation, "too_many_errors", CloseCause::too_many_errors);
}

void PushSession::apply_subscribe(const protocol::Subscribe& command) {
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
  // A resume older than the window reads Redis, a few at once node-wide: the read is secured
  // before `subscribed` goes out, so that a reader told `subscribed` is not then told busy.
  std::shared_ptr<void> history_slot;
  if (command.since && !window_holds(*command.since) && !(history_slot = take_history_read()))
    return;
  change_trending_lists([&] {
    for (const auto& category : command.categories) {
      if (!std::binary_search(current.begin(), current.end(), category))
        worker_.subscriptions().add(category, +1);
      index.subscribe(this, category);
    }
    for (const auto& category : command.trending) worker_.trending_requests().add(this, category);
    reply_subscribed(command.since ? std::string_view(*command.since) : worker_.head());
  });
  if (command.since) resume_from(*command.since, std::move(history_slot));
}

void PushSession::unsubscribe(const protocol::Unsubscribe& command) {
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

void PushSession::reply_subscribed(std::string_view cursor) {
  reply(protocol::subscribed_message(worker_.index().categories_of(this), cursor,
                                     worker_.trending_requests().keys_of(this)),
        cursor);
}

template <typename Change>
void PushSession::change_trending_lists(Change&& change) {
  auto before = worker_.trending_lists_of(this);
  change();
  for (const auto& category : worker_.trending_lists_of(this)) {
    if (std::binary_search(before.begin(), before.end(), category)) continue;
    if (auto list = worker_.trending(category)) deliver_trending(list);
  }
}

void PushSession::deliver_trending(const TrendingPtr& list) {
  if (closing_ || !registered_) return;
  if (state_.restricted.any() && !may_read(list->category)) return;
  // Rankings are not part of the article order: they skip any replay in progress.
  const std::string* frame = framing_ == Framing::sse ? &list->sse_frame : &list->frame;
  if (queue_.push_latest(list->category, SharedFrame(list, frame)))
    worker_.counters().trending_conflated.add(1);
  count_queue();
  write_soon();
}

std::shared_ptr<void> PushSession::take_history_read() {
  auto slot = state_.history_reads->try_take();
  // Other resumes are reading Redis: this one waits at the client.
  if (!slot) close_with(protocol::close_code::try_again_later, "history_busy", CloseCause::history_busy);
  return slot;
}

bool PushSession::window_holds(const std::string& since) const {
  auto cursor = protocol::parse_cursor(since);
  return cursor && state_.window->holds(*cursor);  // a bad cursor: the history names the fault
}

void PushSession::resume_from(const std::string& since, std::shared_ptr<void> history_slot) {
  resumed_ = true;
  if (resume_from_window(since)) return;
  if (!history_slot && !(history_slot = take_history_read())) return;
  resume_ = Resume::waiting_for_history;
  // A weak reference: the reply travels through the control thread, which must never hold the
  // last reference (the session's destructor edits its worker's index). A session that ended
  // meanwhile needs no replay. The slot is given back as soon as Redis has answered, not when
  // the last copy of this callback goes (on whichever thread): the next resume may need it.
  auto slot = std::make_shared<std::shared_ptr<void>>(std::move(history_slot));
  state_.history->post_read_after(
      since, state_.session.replay, worker_.context().get_executor(),
      [weak = weak_from_this(), since, slot](HistoryRead read) {
        slot->reset();
        if (auto self = weak.lock()) self->on_replay(since, std::move(read));
      });
}

bool PushSession::wants(const ArticleEvent& event, const std::vector<std::string>& categories) const {
  if (!may_read(event)) return false;
  return event.breaking ||
         std::binary_search(categories.begin(), categories.end(), protocol::kAllCategories) ||
         std::binary_search(categories.begin(), categories.end(), event.category);
}

bool PushSession::resume_from_window(const std::string& since) {
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

void PushSession::on_replay(const std::string& since, HistoryRead read) {
  if (closing_ || finished_) return;
  if (!read.ok) {
    // Resuming without the history would silently lose articles: let the client come back.
    log_event(LogLevel::warn, "replay.failed", {{"error", read.error}});
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
    log_event(LogLevel::debug, "replay.read",
              {{"since", since},
               {"read", read.events.size()},
               {"held", held_.size()},
               {"reset", read.reset_reason}});
  for (const auto& event : held_) append_to_backlog(event);  // already counted
  held_.clear();
  start_draining_backlog();
}

void PushSession::queue_replay(const std::string& since, const std::vector<EventPtr>& events,
                               const std::optional<protocol::Cursor>& up_to) {
  replayed_up_to_ = up_to;
  for (const auto& event : events) backlog_.emplace_back(event, &frame_of(*event));
  std::string position = up_to ? protocol::to_string(*up_to) : since;
  backlog_.push_back(message_frame(protocol::resumed_message(events.size(), position), position));
}

void PushSession::queue_reset(const std::string& reason, const std::string& head) {
  metrics_.replay_resets.fetch_add(1, std::memory_order_relaxed);
  backlog_.push_back(message_frame(protocol::reset_message(reason, head), head));
  // The client carries on from the head: what is older is in the list it reloads, not news.
  replayed_up_to_ = protocol::parse_cursor(head);
}

void PushSession::release_held() {
  resume_ = Resume::none;
  live_backlog_bytes_ = 0;
  auto held = std::move(held_);
  held_.clear();
  for (const auto& event : held) enqueue(SharedFrame(event, &frame_of(*event)));
}

void PushSession::start_draining_backlog() {
  resume_ = Resume::draining_backlog;
  pump_backlog();
}

void PushSession::hold(const EventPtr& event) {
  if (resume_ == Resume::waiting_for_history || resume_ == Resume::before_first_command) {
    held_.push_back(event);
    count_backlog(*event);
    return;
  }
  append_to_backlog(event);
  // The queue may be idle: nothing else would move this event along.
  pump_backlog();
}

void PushSession::append_to_backlog(const EventPtr& event) {
  if (already_replayed(*event, replayed_up_to_)) return;
  backlog_.emplace_back(event, &frame_of(*event));
  if (resume_ == Resume::draining_backlog) count_backlog(*event);
}

void PushSession::count_backlog(const ArticleEvent& event) {
  live_backlog_bytes_ += frame_of(event).size();
  if (live_backlog_bytes_ > state_.session.max_send_queue)
    close_with(protocol::close_code::try_again_later, "slow_consumer", CloseCause::slow_consumer);
}

void PushSession::pump_backlog() {
  if (resume_ != Resume::draining_backlog) return;
  // Half the bound: room stays for the live events and replies that follow.
  std::size_t budget = state_.session.max_send_queue / 2;
  while (!backlog_.empty() && !closing_ &&
         (queue_.empty() || queue_.bytes() + backlog_.front()->size() <= budget)) {
    // Taken off first: a batch the transport writes at once pumps again from write_queued.
    SharedFrame frame = backlog_.front();
    backlog_.pop_front();
    enqueue(frame);
  }
  if (backlog_.empty()) {
    resume_ = Resume::none;
    live_backlog_bytes_ = 0;
  }
}

bool PushSession::may_read(std::string_view category) const {
  if (!state_.restricted.restricted(category)) return true;
  return grant_ && std::chrono::system_clock::now() < grant_->expiry &&
         grant_->categories.matches(category);
}

void PushSession::authorize(std::string_view token) {
  auth::TokenVerification verification;
  if (state_.tokens) {
    verification = state_.tokens->verify(token, std::chrono::system_clock::now());
  } else {
    verification.error = auth::TokenError::alg_not_allowed;
    verification.detail = "this server has no token key (--token-secret, --token-public-key)";
  }
  metrics_.token_results[static_cast<std::size_t>(verification.error)].fetch_add(
      1, std::memory_order_relaxed);
  if (!verification.ok()) {
    log_event(LogLevel::debug, "token.refused",
              {{"error", auth::to_string(verification.error)}, {"detail", verification.detail}});
    metrics_.client_errors.fetch_add(1, std::memory_order_relaxed);
    reply(protocol::invalid_token_message(auth::to_string(verification.error)));
    if (!errors_.spend(ErrorBudget::Clock::now()))
      close_with(protocol::close_code::policy_violation, "too_many_errors",
                 CloseCause::too_many_errors);
    return;
  }
  if (log_enabled(LogLevel::debug))
    log_event(LogLevel::debug, "token.accepted",
              {{"subject", verification.claims.subject}, {"key", verification.claims.key_id}});
  // Re-sending the token that was just warned about must not be warned about again (a client
  // that refreshes on each warning would loop).
  bool reminded = grant_ && grant_->reminded && grant_->expiry == verification.claims.expiry;
  grant_ = Grant{std::move(verification.claims.categories), verification.claims.expiry, reminded};
  reply(protocol::authenticated_message(
      std::chrono::duration_cast<std::chrono::seconds>(grant_->expiry.time_since_epoch()).count()));
  // A fresh token that allows less ends what it no longer allows, at once.
  drop_unreadable_subscriptions(/*lapsed=*/false);
  arm_token_timer();
}

void PushSession::arm_token_timer() {
  if (!grant_ || closing_) return;
  auto at = grant_->reminded ? grant_->expiry : grant_->expiry - state_.token_expiry_lead;
  token_timer_.expires_after(std::max(at - std::chrono::system_clock::now(),
                                      std::chrono::system_clock::duration::zero()));
  token_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closing_ || self->finished_) return;
    self->on_token_timer();
  });
}

void PushSession::on_token_timer() {
  if (!grant_) return;
  auto now = std::chrono::system_clock::now();
  if (now < grant_->expiry) {
    // Once per token. The timer runs on the steady clock and exp is wall-clock time: a timer
    // for the expiry itself may fire a little early, and then only waits again.
    if (!grant_->reminded) {
      grant_->reminded = true;
      reply(protocol::token_expiring_message(
          std::chrono::duration_cast<std::chrono::seconds>(grant_->expiry.time_since_epoch()).count()));
    }
    arm_token_timer();
    return;
  }
  metrics_.token_expiries.fetch_add(1, std::memory_order_relaxed);
  grant_.reset();
  drop_unreadable_subscriptions(/*lapsed=*/true);
}

void PushSession::drop_unreadable_subscriptions(bool lapsed) {
  protocol::Unsubscribe dropped;
  for (const auto& category : worker_.index().categories_of(this))
    if (!may_read(category)) dropped.categories.push_back(category);
  for (const auto& category : worker_.trending_requests().keys_of(this))
    if (!may_read(category)) dropped.trending.push_back(category);
  const bool nothing_dropped = dropped.categories.empty() && dropped.trending.empty();
  // A lapse is always told: a "*" subscriber loses the subscriber-only part of its news too.
  if (nothing_dropped && !lapsed) return;
  reply(protocol::token_expired_message(dropped.categories, dropped.trending));
  if (nothing_dropped) return;
  unsubscribe(dropped);
  if (worker_.index().categories_of(this).empty() && worker_.trending_requests().keys_of(this).empty())
    close_with(protocol::close_code::token_expired, "token_expired", CloseCause::token_expired);
}

SharedFrame PushSession::message_frame(std::string message, std::string_view id) const {
  if (framing_ == Framing::sse) {
    // EventSource keeps the name "error" for its own connection errors: ours are "notice".
    std::string_view type = protocol::message_type(message);
    return std::make_shared<const std::string>(
        protocol::sse_event(type == "error" ? "notice" : type, id, message));
  }
  return std::make_shared<const std::string>(websocket_text_frame(message));
}

void PushSession::reply(std::string message, std::string_view id) {
  enqueue(message_frame(std::move(message), id));
}

void PushSession::reply_error(std::string_view code, std::string_view message) {
  metrics_.client_errors.fetch_add(1, std::memory_order_relaxed);
  reply(protocol::error_message(code, message));
  if (!errors_.spend(ErrorBudget::Clock::now()))
    close_with(protocol::close_code::policy_violation, "too_many_errors", CloseCause::too_many_errors);
}

void PushSession::deliver(const EventPtr& event) {
  if (closing_ || !registered_) return;
  // A subscriber-only event reaches "*" subscribers and, breaking, everyone: only those allowed
  // take it. Checked when it is handed over, so never after the token's exp.
  if (!may_read(*event)) return;
  if (resume_ != Resume::none) {
    hold(event);
    return;
  }
  if (replayed_up_to_ && event->cursor) {
    // Once the live stream passes the replay, they cannot overlap any more.
    if (already_replayed(*event, replayed_up_to_)) {
      if (log_enabled(LogLevel::debug))
        log_event(LogLevel::debug, "live.duplicate_dropped",
                  {{"cursor", protocol::to_string(*event->cursor)}});
      return;
    }
    replayed_up_to_.reset();
  }
  // Aliasing pointer: shares the event's ownership, points at its frame; a reference-count
  // increment, no allocation.
  enqueue(SharedFrame(event, &frame_of(*event)));
}

void PushSession::enqueue(const SharedFrame& frame) {
  if (closing_) return;
  if (!queue_.push(frame)) {
    // Dropping the backlog is what bounds memory; the client resumes from its last article.
    queue_.clear();
    count_queue();
    close_with(protocol::close_code::try_again_later, "slow_consumer", CloseCause::slow_consumer);
    return;
  }
  count_queue();
  if (queue_.bytes() > queue_peak_) {
    queue_peak_ = queue_.bytes();
    worker_.counters().send_queue_peak_bytes.raise_to(queue_peak_);
  }
  write_soon();
}

void PushSession::count_queue() {
  if (queue_.bytes() == queue_counted_) return;
  worker_.counters().send_queue_bytes.add(static_cast<std::int64_t>(queue_.bytes()) -
                                          static_cast<std::int64_t>(queue_counted_));
  queue_counted_ = queue_.bytes();
}

void PushSession::write_soon() {
  if (writing_) return;  // on_written takes what is queued
  if (!worker_.corked()) {
    write_queued();
    return;
  }
  if (flush_requested_) return;
  flush_requested_ = true;
  worker_.defer_flush(this);
}

void PushSession::flush() {
  flush_requested_ = false;
  if (!writing_ && !queue_.empty()) write_queued();
  else if (!writing_ && closing_) start_close();
}

void PushSession::write_queued() {
  // A batch the transport wrote at once (a socket with room) is followed here, in a loop: never
  // by recursion through on_written, which a long replay would nest as deep as it is long, and
  // which would re-enter pump_backlog in the middle of its loop.
  writing_ = true;
  for (;;) {
    queue_.take_all(in_flight_);
    count_queue();
    if (!write_batch(in_flight_)) return;  // on_written follows
    in_flight_.clear();
    pump_backlog();  // its enqueues only queue: writing_ is set
    if (queue_.empty()) break;
  }
  writing_ = false;
  if (closing_) start_close();
}

void PushSession::on_written(bool ok) {
  writing_ = false;
  in_flight_.clear();
  if (!ok) {
    // While open, the pending read reports the end of the connection; once closing, no read may
    // be pending any more, so the failed flush ends it here.
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

void PushSession::close_with(int code, std::string_view reason_code, CloseCause cause) {
  if (closing_ || finished_) return;
  closing_ = true;
  close_code_ = code;
  close_reason_code_ = reason_code;
  close_cause_ = cause;
  // Counted when decided: the socket of a peer that stopped reading may linger until the deadline.
  if (registered_) metrics_.count_close(cause);
  if (cause != CloseCause::client && cause != CloseCause::shutdown)
    log_event(LogLevel::debug, "connection.closing",
              {{"code", code}, {"reason", close_reason_code_}});
  // Armed now, not at start_close: a peer that stopped reading may never let the flush finish.
  close_deadline_.expires_after(kCloseDeadline);
  close_deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->abort();
  });
  if (writing_ || flush_requested_) return;  // on_written or flush() sends what is queued, then closes
  if (queue_.empty()) start_close();
  else write_queued();
}

void PushSession::start_close() {
  if (close_started_) return;
  close_started_ = true;
  send_close();
}

void PushSession::finish(CloseCause cause) {
  if (finished_) return;
  finished_ = true;
  queue_.clear();
  count_queue();
  backlog_.clear();
  held_.clear();
  close_deadline_.cancel();
  token_timer_.cancel();
  // Given back now, not when the last pending handler lets go of the session: a reader that
  // reconnects as soon as its connection ended must find its address's slot free. (The
  // connection slot stays until the socket itself is gone: it bounds open descriptors.)
  client_slot_ = {};
  if (!registered_) return;
  for (const auto& category : worker_.index().categories_of(this))
    worker_.subscriptions().add(category, -1);
  worker_.index().remove(this);
  worker_.trending_requests().remove_all(this);
  metrics_.connections_current.fetch_sub(1, std::memory_order_relaxed);
  if (!closing_) metrics_.count_close(cause);  // else counted by close_with
}

}  // namespace newspush

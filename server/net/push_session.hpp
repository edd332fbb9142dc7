#pragma once
// What every reader's connection does, whatever carries it (a WebSocket or a Server-Sent Events
// stream): its subscriptions in the worker's index, the bounded send queue written in corked
// batches, resuming from a cursor (the replay merged with the live events, by cursor), and the
// server-initiated close. The transport only writes batches and closes.
//
// Lives on one worker thread: every member is touched there only, so it needs no lock. Owned by
// its pending asynchronous operations (shared_ptr); the subscription index holds a plain pointer
// that the session removes before it dies.
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/command.hpp"
#include "server/history/history.hpp"
#include "server/hub/connection.hpp"
#include "server/hub/hub.hpp"
#include "server/metrics.hpp"
#include "server/net/error_budget.hpp"
#include "server/net/frame_fifo.hpp"
#include "server/net/send_queue.hpp"
#include "server/server_state.hpp"

namespace newspush {

class PushSession : public Connection, public std::enable_shared_from_this<PushSession> {
 public:
  void deliver(const EventPtr& event) override;
  void deliver_trending(const TrendingPtr& list) override;
  void flush() override;

 protected:
  // Which of an event's frames this connection sends.
  enum class Framing { websocket, sse };

  PushSession(Worker& worker, ServerState& state, Framing framing,
              Admission::ConnectionSlot connection_slot, Admission::ClientSlot client_slot);
  ~PushSession() override;

  // The transport. write_batch sends `batch` (kept alive until written): true when it is done
  // with it at once (written whole, or dropped because the connection is ending), on_written is
  // then not called; false when it calls on_written later, from a completion handler.
  // send_close ends the connection once everything queued is written, and calls finish when it
  // is over; abort closes the socket at once (the close deadline passed).
  virtual bool write_batch(const std::vector<SharedFrame>& batch) = 0;
  virtual void send_close() = 0;
  virtual void abort() = 0;

  template <typename Session>
  std::shared_ptr<Session> self_as() {
    return std::static_pointer_cast<Session>(shared_from_this());
  }

  // The connection is open: into the worker's index, counted.
  void start();
  // Events that arrive before the first command wait for it, at most a short while: the first
  // command may be a resume, whose replay must come before them.
  void hold_until_first_command();
  void on_first_command(bool resumes);
  // Subscriber-only categories the connection's token does not allow are refused one by one
  // (error forbidden); the rest of the command applies.
  void subscribe(const protocol::Subscribe& command);
  void unsubscribe(const protocol::Unsubscribe& command);
  // A connection token (?token= or the auth command): once verified, the subscriber-only
  // categories it allows are open until its exp. A refused one changes nothing.
  void authorize(std::string_view token);
  void reply(std::string message, std::string_view id = {});
  void reply_error(std::string_view code, std::string_view message);
  void enqueue(const SharedFrame& frame);
  void on_written(bool ok);
  // Flushes what is queued (unless the queue is being dropped), then closes with `code` (the
  // WebSocket close code) and `reason_code` (what the reader is told).
  void close_with(int code, std::string_view reason_code, CloseCause cause);
  // The connection is over: unregister and count it, once.
  void finish(CloseCause cause);

  Worker& worker_;
  ServerState& state_;
  Metrics& metrics_;
  int close_code_ = 0;
  std::string close_reason_code_;
  CloseCause close_cause_ = CloseCause::client;
  bool closing_ = false;  // no more reads, no new messages
  bool finished_ = false;

 private:
  // Public, or allowed by a token that has not expired.
  bool may_read(std::string_view category) const;
  bool may_read(const ArticleEvent& event) const {
    return !event.restricted || may_read(event.category);
  }
  // Forgets the subscriptions to categories the connection may no longer read; tells the reader
  // (token_expired: always when the token `lapsed`) and, when nothing is left, closes (4001).
  void drop_unreadable_subscriptions(bool lapsed);
  // Arms the reminder before the token's exp, then its end.
  void arm_token_timer();
  void on_token_timer();
  const std::string& frame_of(const ArticleEvent& event) const {
    return framing_ == Framing::sse ? event.sse_frame : event.frame;
  }
  void apply_subscribe(const protocol::Subscribe& command);
  // `history_slot`: one of the node's reads of Redis, taken before `subscribed` went out when
  // the window did not hold `since` then (else null: taken here if the window moved on).
  void resume_from(const std::string& since, std::shared_ptr<void> history_slot);
  bool window_holds(const std::string& since) const;
  // One of the node's reads of Redis, or null after closing the connection with history_busy.
  std::shared_ptr<void> take_history_read();
  // Served from the node's window: at once, on this thread.
  bool resume_from_window(const std::string& since);
  void on_replay(const std::string& since, HistoryRead read);
  // Queues what a resume sends before the live events: the replayed events and `resumed`, or
  // `reset` (replayed_up_to_ tells the live path where the replay ends).
  void queue_replay(const std::string& since, const std::vector<EventPtr>& events,
                    const std::optional<protocol::Cursor>& up_to);
  void queue_reset(const std::string& reason, const std::string& head);
  void start_draining_backlog();
  // Sends, in order, what waited for the connection's first command.
  void release_held();
  bool wants(const ArticleEvent& event, const std::vector<std::string>& categories) const;
  // Moves backlog into the send queue as it drains, so a long replay never trips the bound.
  void pump_backlog();
  void hold(const EventPtr& event);
  void append_to_backlog(const EventPtr& event);
  // Live events waiting behind a replay are bounded like the send queue.
  void count_backlog(const ArticleEvent& event);
  // Applies a change of subscriptions, then sends at once the lists it newly receives.
  template <typename Change>
  void change_trending_lists(Change&& change);
  void reply_subscribed(std::string_view cursor);
  SharedFrame message_frame(std::string message, std::string_view id) const;
  // Brings the worker's send_queue_bytes gauge level with queue_ (after each change to it).
  void count_queue();
  // Writes now, or once the worker's batch is fanned out (corked).
  void write_soon();
  void write_queued();
  void start_close();

  Framing framing_;
  SendQueue queue_;
  std::vector<SharedFrame> in_flight_;  // the batch being written
  std::size_t queue_peak_ = 0;
  std::size_t queue_counted_ = 0;  // queue_'s bytes as last added to the worker's gauge

  // Resuming: events wait here, in order, until the replay before them is queued. Before its
  // first command a connection may be about to resume: the events it gets meanwhile (breaking
  // news) wait too, so that a replay can put them in their place rather than after them.
  enum class Resume { before_first_command, none, waiting_for_history, draining_backlog };
  Resume resume_ = Resume::none;
  std::vector<EventPtr> held_;           // live events that arrived while the history was read
  FrameFifo backlog_;                    // replayed events, then markers, then held live events
  std::size_t live_backlog_bytes_ = 0;   // bounded like the send queue
  std::optional<protocol::Cursor> replayed_up_to_;  // until the live stream passes it

  // What the connection's token allows (none: public categories only).
  struct Grant {
    auth::CategoryPatterns categories;
    std::chrono::system_clock::time_point expiry;
    bool reminded = false;  // token_expiring sent
  };
  std::optional<Grant> grant_;
  boost::asio::steady_timer token_timer_;

  ErrorBudget errors_;
  Admission::ConnectionSlot connection_slot_;  // given back when the session ends
  Admission::ClientSlot client_slot_;
  boost::asio::steady_timer close_deadline_;

  bool resumed_ = false;  // one resume per connection: each costs a replay
  bool registered_ = false;
  bool writing_ = false;
  bool flush_requested_ = false;  // waiting for the worker's batch to end
  bool close_started_ = false;    // send_close called
};

}  // namespace newspush

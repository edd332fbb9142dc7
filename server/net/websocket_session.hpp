#pragma once
// One WebSocket client. Lives on one worker thread: every member is touched there only, so it
// needs no lock. Owned by its pending asynchronous operations (shared_ptr); the subscription
// index holds a plain pointer that the session removes before it dies.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <array>
#include <memory>
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
#include "server/trending/view_limiter.hpp"

namespace newspush {

class WebSocketSession : public Connection,
                         public std::enable_shared_from_this<WebSocketSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  WebSocketSession(boost::asio::ip::tcp::socket&& socket, Worker& worker, ServerState& state,
                   Admission::ConnectionSlot connection_slot, Admission::ClientSlot client_slot);
  ~WebSocketSession() override;

  // Completes the upgrade the HTTP session read.
  void run(Request request);

  void deliver(const EventPtr& event) override;
  void deliver_trending(const TrendingPtr& list) override;
  void flush() override;
  void shut_down() override;

 private:
  void on_accept(boost::beast::error_code ec);
  void read_next();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_command(std::string_view text);
  void subscribe(const protocol::Subscribe& command);
  void resume_from(const std::string& since);
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
  void unsubscribe(const protocol::Unsubscribe& command);
  // Applies a change of subscriptions, then sends at once the lists it newly receives.
  template <typename Change>
  void change_trending_lists(Change&& change);
  void reply_subscribed(std::string_view cursor);
  void view(const protocol::View& command);
  void reply(std::string message);
  void reply_error(std::string_view code, std::string_view message);
  void enqueue(const SharedFrame& frame);
  // Writes now, or once the worker's batch is fanned out (corked).
  void write_soon();
  void write_queued();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  // Flushes what is queued (unless the queue is being dropped), then closes with `code`.
  void close_with(int code, std::string_view reason_code, CloseCause cause);
  void start_close();
  void on_close(boost::beast::error_code ec);
  // The connection is over: unregister and count it, once.
  void finish(CloseCause cause);

  // A plain socket, not beast::tcp_stream: the WebSocket layer has its own timeouts, and the
  // per-write timer bookkeeping of tcp_stream was a tenth of the fan-out cost in profiles.
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  std::array<char, 128> read_chunk_;  // Beast reads message data into this, a chunk at a time
  std::string message_;               // the client message being received
  Worker& worker_;
  ServerState& state_;
  Metrics& metrics_;

  SendQueue queue_;
  std::vector<SharedFrame> in_flight_;                  // the batch being written
  std::vector<boost::asio::const_buffer> gather_;       // its buffers, "\n" between frames
  std::size_t queue_peak_ = 0;

  // Resuming: events wait here, in order, until the replay before them is queued. Before its
  // first command a connection may be about to resume: the events it gets meanwhile (breaking
  // news) wait too, so that a replay can put them in their place rather than after them.
  enum class Resume { before_first_command, none, waiting_for_history, draining_backlog };
  Resume resume_ = Resume::before_first_command;
  std::vector<EventPtr> held_;           // live events that arrived while the history was read
  FrameFifo backlog_;                    // replayed events, then markers, then held live events
  std::size_t live_backlog_bytes_ = 0;   // bounded like the send queue
  std::optional<protocol::Cursor> replayed_up_to_;  // until the live stream passes it

  ErrorBudget errors_;
  ErrorBudget commands_;  // the same kind of bucket: commands per second, with a burst
  Admission::ConnectionSlot connection_slot_;  // given back when the session ends
  Admission::ClientSlot client_slot_;
  std::unique_ptr<trending::ViewLimiter> views_;  // from the first view on
  boost::asio::steady_timer close_deadline_;
  int close_code_ = 0;
  std::string close_reason_;
  CloseCause close_cause_ = CloseCause::client;

  bool resumed_ = false;  // one resume per connection: each costs a replay
  bool registered_ = false;
  bool writing_ = false;
  bool flush_requested_ = false;  // waiting for the worker's batch to end
  bool closing_ = false;        // no more reads, no new messages
  bool close_started_ = false;  // close frame requested
  bool finished_ = false;
};

}  // namespace newspush

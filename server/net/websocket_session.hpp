#pragma once
// One WebSocket client: the transport and the commands of a PushSession. Lives on one worker
// thread (see PushSession). A template on the stream: a plain TCP socket, or TLS
// (beast::ssl_stream). Beast answers the upgrade (the 101); from then on the framing is ours
// (websocket/server_codec.hpp reads, websocket/frame.hpp writes), so that the frames built once
// per article go out as they are, with a direct non-blocking send when nothing waits. Its members
// are defined in websocket_session_impl.hpp and compiled once per stream, in
// websocket_session.cpp and websocket_session_tls.cpp.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket/stream_fwd.hpp>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/net/handler_memory.hpp"
#include "server/net/push_session.hpp"
#include "server/net/tls_context.hpp"
#include "server/trending/view_limiter.hpp"
#include "websocket/frame.hpp"
#include "websocket/server_codec.hpp"

namespace newspush {

template <typename NextLayer>
class WebSocketSession : public PushSession {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `tls_context`: the context a TLS stream shook hands with, kept while the connection lives.
  WebSocketSession(NextLayer&& stream, Worker& worker, ServerState& state,
                   Admission::ConnectionSlot connection_slot, Admission::ClientSlot client_slot,
                   TlsContextPtr tls_context = {});
  ~WebSocketSession() override;

  // Completes the upgrade the HTTP session read; `token`: the URL's ?token=, if any.
  void run(Request request, std::string token);

  void shut_down() override;

 private:
  // How far the connection is in its end (RFC 6455 7). One close frame per side: ours goes out
  // from closing or replying, never twice.
  enum class Close : std::uint8_t {
    open,
    closing,       // our close frame waits behind the messages PushSession flushes
    close_sent,    // our close frame is out: reading on, for the peer's close
    replying,      // the peer closed, or broke the protocol: our close frame is due, nothing else
    tearing_down,  // the close frames are done: ending TCP (and TLS) cleanly, bounded in time
    done,          // the socket is closed
  };

  void on_accept(boost::beast::error_code ec);
  void read_next();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  // False once reading must stop (the connection is ending).
  bool on_event(const websocket::Event& event);
  void on_message(std::string_view text);
  void handle_command(std::string_view text);
  void view(const protocol::View& command);

  bool write_batch(const std::vector<SharedFrame>& batch) override;
  void send_close() override;
  void abort() override;

  // Queues a pong, a keep-alive ping or a close frame ahead of the next batch.
  void queue_control(websocket::ControlFrame frame, bool is_close);
  // Starts a write of what waits (the control frame, then the batch) unless one is in flight.
  void write_pending();
  void send_gathered();
  void on_write(boost::beast::error_code ec);
  // Our close frame is out: the handshake goes on (closing) or the connection ends (replying).
  void on_close_sent();
  // The peer closed or broke the protocol: counted now as `cause`, our close frame (`code`)
  // unless ours already went, then the TCP connection ends.
  void end_with_close(std::uint16_t code, CloseCause cause);
  void tear_down();
  // The one way out without a handshake (an I/O error, a timeout, the close deadline): counted,
  // socket closed, every pending operation ends.
  void fail(CloseCause cause);

  void arm_idle_timer(std::chrono::steady_clock::duration after);
  std::chrono::steady_clock::duration keep_alive_interval() const {
    return std::chrono::steady_clock::duration(state_.session.idle_timeout) / 2;
  }
  void on_idle_timer(boost::beast::error_code ec);

  TlsContextPtr tls_context_;  // declared before stream_: outlives the stream that uses it
  // Plain: a bare socket, not beast::tcp_stream: the per-write timer bookkeeping of tcp_stream
  // was a tenth of the fan-out cost in profiles; the session's idle timer does its job.
  NextLayer stream_;
  // Beast's WebSocket stream over our stream_, only while it answers the upgrade.
  std::unique_ptr<boost::beast::websocket::stream<NextLayer&>> handshake_;
  websocket::ServerCodec codec_;
  Close close_ = Close::open;
  std::array<char, 128> read_chunk_;  // a command is a few dozen bytes: read in small chunks

  // The write in flight (one at a time): a control frame, a batch, or both in one gather.
  bool write_in_flight_ = false;
  const std::vector<SharedFrame>* batch_ = nullptr;  // PushSession's, waiting or in flight
  bool batch_in_flight_ = false;
  bool in_write_batch_ = false;      // a batch done now is returned, not reported by on_written
  bool batch_done_now_ = false;
  std::optional<websocket::ControlFrame> control_;   // waiting
  bool control_is_close_ = false;
  websocket::ControlFrame control_in_flight_;
  bool close_in_flight_ = false;
  std::vector<boost::asio::const_buffer> gather_;
  // The header of a corked batch's one frame, its messages joined by "\n".
  std::array<char, websocket::max_header_size> batch_header_;

  // Beast's keep-alive, reproduced: a ping every idle_timeout/2, and the end (timeout) when
  // nothing at all was read in the half after a ping. While closing, it
  // bounds the close handshake and the TCP teardown instead.
  boost::asio::steady_timer idle_timer_;
  bool pinged_ = false;  // since the peer last sent anything

  HandlerMemory read_memory_;
  HandlerMemory write_memory_;
  HandlerMemory timer_memory_;

  ErrorBudget commands_;  // the same kind of bucket as errors: commands per second, with a burst
  std::unique_ptr<trending::ViewLimiter> views_;  // from the first view on
  std::string url_token_;  // verified once the connection is open
};

}  // namespace newspush

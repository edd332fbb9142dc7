#pragma once
// One WebSocket client: the transport and the commands of a PushSession. Lives on one worker
// thread (see PushSession). A template on the stream under the WebSocket: a plain TCP socket, or
// TLS (beast::ssl_stream). Its members are defined in websocket_session_impl.hpp and compiled
// once per stream, in websocket_session.cpp and websocket_session_tls.cpp.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/net/push_session.hpp"
#include "server/net/tls_context.hpp"
#include "server/trending/view_limiter.hpp"

namespace newspush {

template <typename NextLayer>
class WebSocketSession : public PushSession {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `tls_context`: the context a TLS stream shook hands with, kept while the connection lives.
  WebSocketSession(NextLayer&& stream, Worker& worker, ServerState& state,
                   Admission::ConnectionSlot connection_slot, Admission::ClientSlot client_slot,
                   TlsContextPtr tls_context = {});

  // Completes the upgrade the HTTP session read; `token`: the URL's ?token=, if any.
  void run(Request request, std::string token);

  void shut_down() override;

 private:
  void on_accept(boost::beast::error_code ec);
  void read_next();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_command(std::string_view text);
  void view(const protocol::View& command);

  void write_batch(const std::vector<SharedFrame>& batch) override;
  void send_close() override;
  void abort() override;

  TlsContextPtr tls_context_;  // declared before ws_: outlives the stream that uses it
  // Plain: a bare socket, not beast::tcp_stream: the WebSocket layer has its own timeouts, and
  // the per-write timer bookkeeping of tcp_stream was a tenth of the fan-out cost in profiles.
  boost::beast::websocket::stream<NextLayer> ws_;
  std::array<char, 128> read_chunk_;  // Beast reads message data into this, a chunk at a time
  std::string message_;               // the client message being received
  std::vector<boost::asio::const_buffer> gather_;  // the batch's buffers, "\n" between frames
  ErrorBudget commands_;  // the same kind of bucket as errors: commands per second, with a burst
  std::unique_ptr<trending::ViewLimiter> views_;  // from the first view on
  std::string url_token_;  // verified once the connection is open
};

}  // namespace newspush

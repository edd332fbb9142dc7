#pragma once
// How an HttpSession's bytes travel: plain TCP, or TLS over it (--tls-cert). The session's logic
// (routes, the API, the PROXY header) is compiled once, against this interface; each transport
// instantiates Beast's HTTP reads and writes for its own stream in its own translation unit, and
// hands the connection on to the WebSocket or SSE session of its own kind. The indirection costs
// a virtual call per request, not per delivery: the push sessions are templates on the stream.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/command.hpp"
#include "server/net/admission.hpp"
#include "server/net/tls_context.hpp"

namespace newspush {

class Worker;
struct ServerState;

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using HttpRequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using IoHandler = std::function<void(boost::beast::error_code, std::size_t)>;

// What a reader's session needs besides the connection, once /ws or /sse admitted it.
struct ReaderHandOff {
  Worker& worker;
  ServerState& state;
  Admission::ConnectionSlot connection_slot;
  Admission::ClientSlot client_slot;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // The TCP layer under any TLS: timeouts, the peer's address, the PROXY header (which comes
  // before TLS), shutdown and the bytes a lingering close throws away.
  virtual boost::beast::tcp_stream& tcp() = 0;
  virtual bool is_tls() const = 0;
  // TLS: the server side of the handshake, `already_read` being bytes read from the socket
  // before it (after a PROXY header); `bytes` in the handler: how many of them it used. Plain:
  // completes at once.
  virtual void handshake(boost::asio::const_buffer already_read, IoHandler handler) = 0;
  virtual void read_header(boost::beast::flat_buffer& buffer, HttpRequestParser& parser,
                           IoHandler handler) = 0;
  virtual void read_body(boost::beast::flat_buffer& buffer, HttpRequestParser& parser,
                         IoHandler handler) = 0;
  virtual void write(HttpResponse& response, IoHandler handler) = 0;

  // The connection becomes a WebSocket (`token`: the URL's ?token=) or an SSE stream; the
  // transport is empty afterwards.
  virtual void start_websocket(ReaderHandOff hand_off, HttpRequest request, std::string token) = 0;
  virtual void start_sse(ReaderHandOff hand_off, std::string_view allow_origin,
                         const protocol::Subscribe& subscription, std::string_view token,
                         std::string_view request_id) = 0;
};

std::unique_ptr<HttpTransport> make_plain_transport(boost::asio::ip::tcp::socket&& socket);
// `context`: the one current at accept; the connection keeps it (a reload does not touch it).
std::unique_ptr<HttpTransport> make_tls_transport(boost::asio::ip::tcp::socket&& socket,
                                                  TlsContextPtr context);

}  // namespace newspush

// HttpTransport over TLS (https://, wss://, /sse over https): Beast's HTTP reads and writes on
// an ssl_stream, and the SSE session's instantiation for it. Its own translation unit, compiled
// in parallel with the plain ones; the WebSocket one is websocket_session_tls.cpp.
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server/net/http_transport.hpp"
#include "server/net/sse_session_impl.hpp"
#include "server/net/websocket_session.hpp"

namespace newspush {

using tcp = boost::asio::ip::tcp;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

template class SseSession<TlsStream>;
// Compiled in websocket_session_tls.cpp.
extern template class WebSocketSession<TlsStream>;

namespace {

namespace http = boost::beast::http;

class TlsTransport final : public HttpTransport {
 public:
  TlsTransport(tcp::socket&& socket, TlsContextPtr context)
      : context_(std::move(context)), stream_(boost::beast::tcp_stream(std::move(socket)), *context_) {}

  boost::beast::tcp_stream& tcp() override { return stream_.next_layer(); }
  bool is_tls() const override { return true; }
  void handshake(boost::asio::const_buffer already_read, IoHandler handler) override {
    // Boost 1.81's beast::ssl_stream checks this overload's handler against the signature without
    // the byte count (a bug): the default argument satisfies that check; the call has both.
    stream_.async_handshake(boost::asio::ssl::stream_base::server, already_read,
                            [handler = std::move(handler)](boost::beast::error_code ec,
                                                           std::size_t used = 0) {
                              handler(ec, used);
                            });
  }
  void read_header(boost::beast::flat_buffer& buffer, HttpRequestParser& parser,
                   IoHandler handler) override {
    http::async_read_header(stream_, buffer, parser, std::move(handler));
  }
  void read_body(boost::beast::flat_buffer& buffer, HttpRequestParser& parser,
                 IoHandler handler) override {
    http::async_read(stream_, buffer, parser, std::move(handler));
  }
  void write(HttpResponse& response, IoHandler handler) override {
    http::async_write(stream_, response, std::move(handler));
  }
  void start_websocket(ReaderHandOff hand_off, HttpRequest request, std::string token) override {
    std::make_shared<WebSocketSession<TlsStream>>(
        std::move(stream_), hand_off.worker, hand_off.state, std::move(hand_off.connection_slot),
        std::move(hand_off.client_slot), context_)
        ->run(std::move(request), std::move(token));
  }
  void start_sse(ReaderHandOff hand_off, std::string_view allow_origin,
                 const protocol::Subscribe& subscription, std::string_view token,
                 std::string_view request_id) override {
    std::make_shared<SseSession<TlsStream>>(std::move(stream_), hand_off.worker, hand_off.state,
                                            std::move(hand_off.connection_slot),
                                            std::move(hand_off.client_slot), context_)
        ->run(allow_origin, subscription, token, request_id);
  }

 private:
  TlsContextPtr context_;  // declared before stream_: outlives it
  TlsStream stream_;
};

}  // namespace

std::unique_ptr<HttpTransport> make_tls_transport(tcp::socket&& socket, TlsContextPtr context) {
  return std::make_unique<TlsTransport>(std::move(socket), std::move(context));
}

}  // namespace newspush

// HttpTransport over plain TCP (http://, ws://): Beast's HTTP reads and writes on a tcp_stream.
#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "server/net/http_transport.hpp"
#include "server/net/sse_session.hpp"
#include "server/net/websocket_session.hpp"

namespace newspush {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Compiled in sse_session.cpp and websocket_session.cpp.
extern template class SseSession<tcp::socket>;
extern template class WebSocketSession<tcp::socket>;

namespace {

class PlainTransport final : public HttpTransport {
 public:
  explicit PlainTransport(tcp::socket&& socket) : stream_(std::move(socket)) {}

  beast::tcp_stream& tcp() override { return stream_; }
  bool is_tls() const override { return false; }
  void handshake(boost::asio::const_buffer, IoHandler handler) override {
    boost::asio::post(stream_.get_executor(),
                      [handler = std::move(handler)] { handler(beast::error_code(), 0); });
  }
  void read_header(beast::flat_buffer& buffer, HttpRequestParser& parser, IoHandler handler) override {
    http::async_read_header(stream_, buffer, parser, std::move(handler));
  }
  void read_body(beast::flat_buffer& buffer, HttpRequestParser& parser, IoHandler handler) override {
    http::async_read(stream_, buffer, parser, std::move(handler));
  }
  void write(HttpResponse& response, IoHandler handler) override {
    http::async_write(stream_, response, std::move(handler));
  }
  void start_websocket(ReaderHandOff hand_off, HttpRequest request, std::string token) override {
    std::make_shared<WebSocketSession<tcp::socket>>(
        stream_.release_socket(), hand_off.worker, hand_off.state,
        std::move(hand_off.connection_slot), std::move(hand_off.client_slot))
        ->run(std::move(request), std::move(token));
  }
  void start_sse(ReaderHandOff hand_off, std::string_view allow_origin,
                 const protocol::Subscribe& subscription, std::string_view token,
                 std::string_view request_id) override {
    std::make_shared<SseSession<tcp::socket>>(stream_.release_socket(), hand_off.worker,
                                              hand_off.state, std::move(hand_off.connection_slot),
                                              std::move(hand_off.client_slot))
        ->run(allow_origin, subscription, token, request_id);
  }

 private:
  beast::tcp_stream stream_;
};

}  // namespace

std::unique_ptr<HttpTransport> make_plain_transport(tcp::socket&& socket) {
  return std::make_unique<PlainTransport>(std::move(socket));
}

}  // namespace newspush

#pragma once
// An HTTP connection, plain or TLS (see HttpTransport): health, readiness and metrics for
// operators and load balancers, the API, and the door to /ws and /sse, where the connection
// becomes a WebSocketSession or an SseSession.
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "server/hub/hub.hpp"
#include "server/net/api.hpp"
#include "server/net/http_transport.hpp"
#include "server/server_state.hpp"

namespace newspush {

// Which listener a connection came in through.
enum class Door { public_port, admin_port };

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::unique_ptr<HttpTransport> transport, Worker& worker, ServerState& state,
              Admission::ConnectionSlot slot, Door door);
  void run();

 private:
  using Request = HttpRequest;
  using Response = HttpResponse;

  // --proxy-protocol, a trusted peer: its PROXY header first, within the head timeout; what
  // follows it in the same read stays in buffer_ for the HTTP parser.
  void read_proxy_header();
  void on_proxy_header(boost::beast::error_code ec, std::size_t bytes);
  // TLS: the handshake, within the head timeout; plain: straight to the request.
  void shake_hands();
  void on_handshake(boost::beast::error_code ec, std::size_t used);
  // Plain HTTP on the TLS port: told so in plain HTTP, then closed.
  void refuse_plain_http();
  void read_request();
  void on_header(boost::beast::error_code ec, std::size_t bytes);
  void on_body(boost::beast::error_code ec, std::size_t bytes);
  // Answers without reading the body; the connection closes after the answer.
  void refuse(const api::Error& error);
  void on_request();
  void shut_down_send();
  // After an answer to a request whose body was not read: stop sending, read and drop what the
  // client still sends for a while, so that the answer reaches it before the socket closes.
  void linger();
  void discard_input();
  // The reader's address: the peer's, or the one a trusted proxy named in its PROXY header
  // (--proxy-protocol) or else put in X-Forwarded-For.
  boost::asio::ip::address client_address(const Request& request);
  bool is_trusted_proxy(const boost::asio::ip::address& peer) const;
  // /ws and /sse: the origin and admission checks; refused readers are answered here.
  std::optional<Admission::ClientSlot> admit_reader(const Request& request);
  void upgrade(Request request);
  // GET /sse: the connection becomes a Server-Sent Events stream.
  void stream_events(const Request& request);
  Response route(const Request& request) const;
  // /api/v1/...: answers asynchronously (the history lives in Redis).
  void handle_api(const Request& request);
  void publish_article(const Request& request);
  void retract_article(std::string id);
  // GET's reader: anonymous without Authorization, else the categories its Bearer connection
  // token allows; nullopt after answering 401 for a refused token.
  std::optional<auth::CategoryPatterns> reader_rights(const Request& request);
  void list_recent(const Request& request, std::string_view query);
  void show_trending(const Request& request, std::string_view query);
  void record_views(const Request& request);
  void send(Response response);
  // Refusals and failures, with the request's id (answers of 400 and up; /readyz's 503 is an
  // answer to a probe, not a failure).
  void log_refusal(const Response& response) const;
  void send_json(int status, std::string body);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);

  boost::beast::tcp_stream& tcp() { return transport_->tcp(); }
  boost::asio::any_io_executor executor() { return transport_->tcp().get_executor(); }

  std::unique_ptr<HttpTransport> transport_;
  boost::beast::flat_buffer buffer_;
  std::optional<HttpRequestParser> parser_;
  std::shared_ptr<Response> response_;
  // Set from the PROXY header (the peer's own address for LOCAL): the same for every request.
  std::optional<boost::asio::ip::address> proxied_client_;
  unsigned request_version_ = 11;
  // The current request's X-Request-Id (its own when sane, else a new one), method and path, for
  // the response and the log lines about the request.
  std::string request_id_;
  boost::beast::http::verb request_method_ = boost::beast::http::verb::unknown;
  std::string request_path_;
  bool request_keep_alive_ = false;
  bool body_left_unread_ = false;
  std::chrono::steady_clock::time_point linger_until_;
  Worker& worker_;
  ServerState& state_;
  Admission::ConnectionSlot slot_;  // handed on to the WebSocket session
  Door door_;
  // Metrics, stats and the write APIs: on the admin port when there is one, else here.
  bool serves_operators() const { return door_ == Door::admin_port || !state_.separate_admin_port; }
  // Readers' things (/ws, the page, public reads): never on a separate admin port.
  bool serves_readers() const { return door_ == Door::public_port; }
};

}  // namespace newspush

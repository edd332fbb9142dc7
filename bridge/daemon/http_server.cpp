#include "bridge/daemon/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <stdexcept>

namespace newspush::bridge {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxBody = 16 * 1024;
constexpr std::size_t kMaxHeader = 8 * 1024;
constexpr auto kRequestDeadline = std::chrono::seconds(30);
// Device registrations come from an application's backend, not from every phone: a few hundred
// connections are plenty, and past this many a new one is closed at once (memory stays bounded).
constexpr std::size_t kMaxConnections = 1024;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<const ApiHandler> handler,
              std::shared_ptr<std::size_t> open_sessions)
      : stream_(std::move(socket)),
        handler_(std::move(handler)),
        open_sessions_(std::move(open_sessions)) {
    ++*open_sessions_;
  }
  ~HttpSession() { --*open_sessions_; }

  void start() { read_request(); }

 private:
  void read_request() {
    parser_.emplace();
    parser_->body_limit(kMaxBody);
    parser_->header_limit(kMaxHeader);
    stream_.expires_after(kRequestDeadline);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      ApiResponse too_large{413, "application/json",
                            R"({"error":"too_large","detail":"request too large"})"};
      keep_alive_ = false;
      return write(std::move(too_large));
    }
    if (ec) return close();
    auto request = parser_->release();
    keep_alive_ = request.keep_alive();
    ApiRequest api{std::string(request.method_string()), std::string(request.target()),
                   std::string(request[http::field::authorization]), std::move(request.body()),
                   std::string(request[http::field::origin])};
    (*handler_)(std::move(api), [self = shared_from_this()](ApiResponse response) {
      self->write(std::move(response));
    });
  }

  void write(ApiResponse answer) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(11);
    response->result(static_cast<unsigned>(answer.status));
    response->set(http::field::content_type, answer.content_type);
    response->set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : answer.headers) response->set(name, value);
    response->keep_alive(keep_alive_);
    response->body() = std::move(answer.body);
    response->prepare_payload();
    stream_.expires_after(kRequestDeadline);
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_) return self->close();
                        self->read_request();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const ApiHandler> handler_;
  std::shared_ptr<std::size_t> open_sessions_;
  bool keep_alive_ = false;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, ApiHandler h)
      : acceptor(io), handler(std::make_shared<const ApiHandler>(std::move(h))) {}
  tcp::acceptor acceptor;
  std::shared_ptr<const ApiHandler> handler;
  std::shared_ptr<std::size_t> open_sessions = std::make_shared<std::size_t>(0);
  bool stopped = false;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (self->stopped) return;
      if (!ec && *self->open_sessions < kMaxConnections)
        std::make_shared<HttpSession>(std::move(socket), self->handler, self->open_sessions)
            ->start();
      self->accept();
    });
  }
};

HttpServer::HttpServer(asio::io_context& io, const std::string& host, std::uint16_t port,
                       ApiHandler handler)
    : impl_(std::make_shared<Impl>(io, std::move(handler))) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("--listen: '" + host + "' is not an IP address");
  tcp::endpoint endpoint(address, port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("--listen: cannot listen on " + host + ":" + std::to_string(port) +
                             ": " + ec.message());
  impl_->accept();
}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::stop() {
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace newspush::bridge

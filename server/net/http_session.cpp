#include "server/net/http_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server/net/websocket_session.hpp"

namespace newspush {

namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr std::size_t kMaxRequestBody = 8 * 1024;

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

HttpSession::HttpSession(boost::asio::ip::tcp::socket&& socket, Worker& worker, ServerState& state)
    : stream_(std::move(socket)), worker_(worker), state_(state) {}

void HttpSession::run() {
  // Constructed on the accepting thread; from here on only the worker touches it.
  boost::asio::dispatch(stream_.get_executor(),
                        beast::bind_front_handler(&HttpSession::read_request, shared_from_this()));
}

void HttpSession::read_request() {
  parser_.emplace();
  parser_->body_limit(kMaxRequestBody);
  stream_.expires_after(kRequestTimeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    return;
  }
  if (beast::websocket::is_upgrade(parser_->get()) && path_of(parser_->get().target()) == "/ws") {
    std::make_shared<WebSocketSession>(std::move(stream_), worker_, state_)->run(parser_->release());
    return;
  }
  state_.metrics.http_requests.fetch_add(1, std::memory_order_relaxed);
  const Request& request = parser_->get();
  response_ = std::make_shared<Response>(route(request));
  response_->version(request.version());
  response_->keep_alive(request.keep_alive());
  response_->set(http::field::server, "newspushd/" NEWSPUSH_VERSION);
  response_->prepare_payload();
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&HttpSession::on_write, shared_from_this(),
                                              response_->keep_alive()));
}

HttpSession::Response HttpSession::route(const Request& request) const {
  Response response;
  auto reply = [&](http::status status, std::string body,
                   std::string_view type = "text/plain; charset=utf-8") {
    response.result(status);
    response.set(http::field::content_type, type);
    response.body() = std::move(body);
  };
  std::string_view path = path_of(request.target());
  bool known = path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/ws";
  if (!known) {
    reply(http::status::not_found, "not found\n");
  } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
    reply(http::status::method_not_allowed, "method not allowed\n");
    response.set(http::field::allow, "GET, HEAD");
  } else if (path == "/healthz") {
    reply(http::status::ok, "ok\n");
  } else if (path == "/readyz") {
    if (state_.draining.load()) reply(http::status::service_unavailable, "draining\n");
    else if (!state_.redis_ready.load()) reply(http::status::service_unavailable, "redis not subscribed\n");
    else reply(http::status::ok, "ready\n");
  } else if (path == "/metrics") {
    reply(http::status::ok, render_prometheus(state_.metrics), "text/plain; version=0.0.4; charset=utf-8");
  } else {
    reply(http::status::upgrade_required, "this endpoint speaks WebSocket\n");
    response.set(http::field::upgrade, "websocket");
  }
  return response;
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) return;
  if (!keep_alive || state_.draining.load()) {
    beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    return;
  }
  read_request();
}

}  // namespace newspush

#include "server/net/listener.hpp"

#include <boost/asio/write.hpp>
#include <string_view>

#include "server/net/http_session.hpp"
#include "server/net/http_transport.hpp"
#include "server/net/tls_context.hpp"

namespace newspush {

namespace asio = boost::asio;
using asio::ip::tcp;

Listener::Listener(asio::io_context& context, const tcp::endpoint& endpoint, bool reuse_port,
                   Hub& hub, ServerState& state, Door door)
    : acceptor_(context), retry_timer_(context), hub_(hub), state_(state), door_(door) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (reuse_port) {
    using reuse_port_option = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    acceptor_.set_option(reuse_port_option(true));
  }
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void Listener::start() { accept_next(); }

void Listener::stop() {
  boost::system::error_code ignored;
  retry_timer_.cancel();
  acceptor_.close(ignored);
}

void Listener::accept_next() {
  Worker* worker = &hub_.next_worker();
  acceptor_.async_accept(worker->context(), [self = shared_from_this(), worker](
                                                boost::system::error_code ec, tcp::socket socket) {
    self->on_accept(worker, ec, std::move(socket));
  });
}

void Listener::on_accept(Worker* worker, boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    accept_errors_.log_event(LogLevel::warn, "accept.failed", {{"error", ec.message()}});
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space) {
      // Out of file descriptors: accepting again at once would spin; let connections close first.
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
        if (!wait_ec) self->accept_next();
      });
      return;
    }
    accept_next();
    return;
  }
  // The operators' door is not the public's: its connections are not counted against readers.
  auto slot = door_ == Door::admin_port ? std::optional(Admission::ConnectionSlot())
                                         : state_.admission->admit_connection();
  if (!slot) {
    state_.metrics.count_refusal(Refusal::total);
    refuse_when_full(std::move(socket));
    accept_next();
    return;
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  // The context current now: a SIGHUP reload changes what later connections get.
  auto transport = state_.tls ? make_tls_transport(std::move(socket), state_.tls->current())
                              : make_plain_transport(std::move(socket));
  std::make_shared<HttpSession>(std::move(transport), *worker, state_, std::move(*slot), door_)
      ->run();
  accept_next();
}

void Listener::refuse_when_full(tcp::socket socket) {
  // Canned and written at once, with no request read: when the process is full, a refused
  // connection must cost next to nothing, and the client learns why before the socket closes.
  static constexpr std::string_view kAnswer =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
      "Connection: close\r\nContent-Length: 76\r\n\r\n"
      "{\"error\":\"server_full\",\"message\":\"this node holds all the connections it may\"}";
  auto refused = std::make_shared<tcp::socket>(std::move(socket));
  asio::async_write(*refused, asio::buffer(kAnswer.data(), kAnswer.size()),
                    [refused](boost::system::error_code, std::size_t) {
                      boost::system::error_code ignored;
                      refused->shutdown(tcp::socket::shutdown_send, ignored);
                    });
}

}  // namespace newspush

#pragma once
// Accepts TCP connections on the control thread and hands each to a worker, round robin.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "server/hub/hub.hpp"
#include "server/log.hpp"
#include "server/net/http_session.hpp"
#include "server/server_state.hpp"

namespace newspush {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Throws boost::system::system_error when the address cannot be bound (a start-up error).
  // reuse_port: SO_REUSEPORT, so that several processes can share the port.
  Listener(boost::asio::io_context& context, const boost::asio::ip::tcp::endpoint& endpoint,
           bool reuse_port, Hub& hub, ServerState& state, Door door = Door::public_port);

  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  void stop();

 private:
  void accept_next();
  void on_accept(Worker* worker, boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void refuse_when_full(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  Hub& hub_;
  ServerState& state_;
  Door door_;
  RateLimitedLog accept_errors_{5, std::chrono::seconds(10)};
};

}  // namespace newspush

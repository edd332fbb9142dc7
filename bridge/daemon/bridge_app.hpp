#pragma once
// The whole daemon on one io_context: two Redis connections (commands, and the blocking
// XREADGROUP), the providers the credentials enable, the dispatcher, the log reader, the HTTP
// listener, and SIGTERM/SIGINT's drain.
#include <boost/asio/io_context.hpp>
#include <memory>

#include "bridge/daemon/config.hpp"

namespace newspush::bridge {

class BridgeApp {
 public:
  // Throws std::runtime_error on a start-up error (credentials unreadable, cannot listen).
  BridgeApp(boost::asio::io_context& io, const BridgeConfig& config);
  ~BridgeApp();
  // Runs until SIGTERM/SIGINT has drained.
  void run();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace newspush::bridge

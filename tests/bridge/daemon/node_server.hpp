#pragma once
// A Node.js server script of the bridge's tests (the HTTP test server, the fake FCM and APNs),
// started on loopback ports it picks itself and announces in one line:
// "listening name=PORT name=PORT ...". Killed with its process group when destroyed.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace newspush::test {

class NodeServer {
 public:
  // Throws std::runtime_error if it does not announce its ports within 20 s.
  NodeServer(const std::string& script, std::vector<std::string> args);
  std::uint16_t port(const std::string& name) const;
  ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::map<std::string, std::uint16_t> ports_;
};

// Runs the io_context until `done` holds or `timeout` passes; returns whether it held.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout);

}  // namespace newspush::test

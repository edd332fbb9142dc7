#include "tests/bridge/daemon/node_server.hpp"

#include <sstream>
#include <stdexcept>
#include <thread>

namespace newspush::test {

NodeServer::NodeServer(const std::string& script, std::vector<std::string> args) {
  std::vector<std::string> argv = {"node", script};
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<ChildProcess>(argv);
  if (!process_->wait_for_line("listening ", std::chrono::seconds(20)))
    throw std::runtime_error(script + " did not start:\n" + process_->output());
  for (const auto& line : process_->lines()) {
    if (!line.starts_with("listening ")) continue;
    std::istringstream words(line.substr(10));
    std::string word;
    while (words >> word) {
      auto eq = word.find('=');
      if (eq != std::string::npos)
        ports_[word.substr(0, eq)] = static_cast<std::uint16_t>(std::stoi(word.substr(eq + 1)));
    }
    break;
  }
}

std::uint16_t NodeServer::port(const std::string& name) const {
  auto it = ports_.find(name);
  if (it == ports_.end()) throw std::runtime_error("no port named " + name);
  return it->second;
}

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    // Nothing ready (the io_context had no work): the answer comes from another process.
    if (io.run_for(std::chrono::milliseconds(20)) == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace newspush::test

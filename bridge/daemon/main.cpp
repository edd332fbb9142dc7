// newspush-bridge: the article log to FCM, APNs and Web Push (bridge/README.md).
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "bridge/daemon/bridge_app.hpp"
#include "bridge/daemon/config.hpp"
#include "bridge/daemon/log.hpp"

int main(int argc, char** argv) {
  using namespace newspush::bridge;
  BridgeConfig config;
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    switch (parse_bridge_config(
        args, [](const char* name) { return std::getenv(name); }, config)) {
      case ConfigAction::help:
        std::fputs(bridge_help_text().c_str(), stdout);
        return 0;
      case ConfigAction::version:
        std::puts("newspush-bridge " NEWSPUSH_VERSION);
        return 0;
      case ConfigAction::run:
        break;
    }
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "newspush-bridge: %s\n", e.what());
    return 2;
  }
  set_log_level(config.log_level);
  try {
    boost::asio::io_context io(1);
    BridgeApp app(io, config);
    app.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "newspush-bridge: %s\n", e.what());
    return 2;
  }
  return 0;
}

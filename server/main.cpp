#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "server/config.hpp"
#include "server/log.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
  using namespace newspush;
  Config config;
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    switch (parse_config(args, [](const char* name) { return std::getenv(name); }, config)) {
      case ConfigAction::help: std::cout << help_text(); return 0;
      case ConfigAction::version: std::cout << "newspushd " NEWSPUSH_VERSION "\n"; return 0;
      case ConfigAction::run: break;
    }
  } catch (const ConfigError& e) {
    std::cerr << "newspushd: " << e.what() << "\n";
    return 2;
  }
  set_log_level(config.log_level);
  set_log_format(config.log_format);
  // hiredis writes with write(2); a peer that vanished must be an error code, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    Server server(config);
    return server.run();
  } catch (const ConfigError& e) {
    std::cerr << "newspushd: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "startup.failed", {{"error", e.what()}});
    return 1;
  }
}

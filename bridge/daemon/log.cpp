#include "bridge/daemon/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace newspush::bridge {
namespace {
LogLevel threshold = LogLevel::info;
}

void set_log_level(std::string_view level) {
  if (level == "debug")
    threshold = LogLevel::debug;
  else if (level == "warn")
    threshold = LogLevel::warn;
  else if (level == "error")
    threshold = LogLevel::error;
  else
    threshold = LogLevel::info;
}

bool log_enabled(LogLevel level) { return level >= threshold; }

void log_line(LogLevel level, std::string_view event, const std::string& fields) {
  if (!log_enabled(level)) return;
  static const char* const names[] = {"debug", "info", "warn", "error"};
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s %s %.*s%s%s\n", stamp, names[static_cast<int>(level)],
               static_cast<int>(event.size()), event.data(), fields.empty() ? "" : " ",
               fields.c_str());
  std::fflush(stderr);
}

}  // namespace newspush::bridge

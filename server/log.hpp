#pragma once
// One line per event on stderr: "2026-11-28T17:40:00.123Z INFO listening on 127.0.0.1:8080".
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace newspush {

enum class LogLevel { debug, info, warn, error };

std::optional<LogLevel> parse_log_level(std::string_view text);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log(LogLevel level, std::string_view message);

inline void log_debug(std::string_view m) { log(LogLevel::debug, m); }
inline void log_info(std::string_view m) { log(LogLevel::info, m); }
inline void log_warn(std::string_view m) { log(LogLevel::warn, m); }
inline void log_error(std::string_view m) { log(LogLevel::error, m); }

// For events a remote party can trigger at will (bad articles, bad clients): a flood of them
// must not flood the log. Allows `burst` lines per `window`, then one summary of what was dropped.
class RateLimitedLog {
 public:
  RateLimitedLog(unsigned burst, std::chrono::seconds window) : burst_(burst), window_(window) {}
  void log(LogLevel level, std::string_view message);

 private:
  unsigned burst_;
  std::chrono::seconds window_;
  std::atomic<std::int64_t> window_start_ns_{0};
  std::atomic<unsigned> in_window_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace newspush

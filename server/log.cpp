#include "server/log.hpp"

#include <unistd.h>

#include <ctime>

namespace newspush {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO";
    case LogLevel::warn: return "WARN";
    case LogLevel::error: return "ERROR";
  }
  return "?";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(millis.count()));
  return text;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  return std::nullopt;
}

void set_log_level(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }

bool log_enabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

void log(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  std::string line = timestamp();
  line += ' ';
  line += level_name(level);
  line += ' ';
  line += message;
  line += '\n';
  // One write(2) per line keeps lines from several threads whole.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

void RateLimitedLog::log(LogLevel level, std::string_view message) {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  auto start = window_start_ns_.load(std::memory_order_relaxed);
  if (now_ns - start >= std::chrono::duration_cast<std::chrono::nanoseconds>(window_).count() &&
      window_start_ns_.compare_exchange_strong(start, now_ns)) {
    in_window_.store(0);
    if (auto dropped = suppressed_.exchange(0); dropped > 0)
      newspush::log(level, std::to_string(dropped) + " similar messages suppressed");
  }
  if (in_window_.fetch_add(1) < burst_) {
    newspush::log(level, message);
  } else {
    suppressed_.fetch_add(1);
  }
}

}  // namespace newspush

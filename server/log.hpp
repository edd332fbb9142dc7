#pragma once
// One line per event on stderr, a named event with fields, in one of two formats:
//   text (default): 2026-11-28T17:40:00.123Z INFO listening address=127.0.0.1:8080 threads=2
//   json (--log-format json, for log shippers), one object a line:
//     {"time":"2026-11-28T17:40:00.123Z","level":"info","event":"listening",
//      "address":"127.0.0.1:8080","threads":2}   (on one line)
// A field's value is a string, an integer, a real number or a boolean. Strings are escaped; bytes
// that are not UTF-8 (a client's or Redis' text) become U+FFFD, so every line stays valid JSON and
// no field can forge a line of its own. Nothing is formatted, nor allocated here, for a level that
// is off (values computed by the caller's expressions still are: guard costly ones with
// log_enabled).
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace newspush {

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { text, json };

std::optional<LogLevel> parse_log_level(std::string_view text);
std::optional<LogFormat> parse_log_format(std::string_view text);
void set_log_level(LogLevel level);
void set_log_format(LogFormat format);

namespace log_detail {
extern std::atomic<LogLevel> threshold;
}
inline bool log_enabled(LogLevel level) {
  return level >= log_detail::threshold.load(std::memory_order_relaxed);
}

// A field's value only refers to the caller's text: a log call reads it before returning.
class LogField {
 public:
  using Value = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

  LogField(std::string_view key, std::string_view value) : key_(key), value_(value) {}
  LogField(std::string_view key, const std::string& value)
      : key_(key), value_(std::string_view(value)) {}
  LogField(std::string_view key, const char* value) : key_(key), value_(std::string_view(value)) {}
  LogField(std::string_view key, bool value) : key_(key), value_(value) {}
  template <std::signed_integral T>
  requires(!std::same_as<T, char>) LogField(std::string_view key, T value)
      : key_(key), value_(static_cast<std::int64_t>(value)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), value_(static_cast<std::uint64_t>(value)) {}
  LogField(std::string_view key, double value) : key_(key), value_(value) {}

  std::string_view key() const { return key_; }
  const Value& value() const { return value_; }

 private:
  std::string_view key_;
  Value value_;
};

using LogFields = std::initializer_list<LogField>;

// The line (with its '\n') for an event at `time`; what log_event writes. For tests and tools.
std::string format_log_line(LogFormat format, std::chrono::system_clock::time_point time,
                            LogLevel level, std::string_view event, LogFields fields);
// Writes it to stderr in one write(2), so that lines from several threads stay whole.
void write_log_line(LogLevel level, std::string_view event, LogFields fields);

// event: a short dotted name that says what happened ("drain.started", "redis.disconnected");
// field names: lower_snake_case, never "time", "level" or "event" (those are renamed, "field_*").
inline void log_event(LogLevel level, std::string_view event, LogFields fields = {}) {
  if (log_enabled(level)) write_log_line(level, event, fields);
}

// A line of plain prose: the event "message" with the text as its "msg" field; the text format
// prints the text alone. Prefer a named event with fields for anything an operator may search for.
inline constexpr std::string_view kMessageEvent = "message";
inline void log(LogLevel level, std::string_view message) {
  log_event(level, kMessageEvent, {{"msg", message}});
}
inline void log_debug(std::string_view m) { log(LogLevel::debug, m); }
inline void log_info(std::string_view m) { log(LogLevel::info, m); }
inline void log_warn(std::string_view m) { log(LogLevel::warn, m); }
inline void log_error(std::string_view m) { log(LogLevel::error, m); }

// For events a remote party can trigger at will (bad articles, bad clients): a flood of them
// must not flood the log. Allows `burst` lines per `window`, then one "log.suppressed" line
// {count, of: the event} when the next window opens. One instance per kind of event.
class RateLimitedLog {
 public:
  RateLimitedLog(unsigned burst, std::chrono::seconds window) : burst_(burst), window_(window) {}
  void log_event(LogLevel level, std::string_view event, LogFields fields = {});
  void log(LogLevel level, std::string_view message) {
    log_event(level, kMessageEvent, {{"msg", message}});
  }

 private:
  unsigned burst_;
  std::chrono::seconds window_;
  std::atomic<std::int64_t> window_start_ns_{0};
  std::atomic<unsigned> in_window_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace newspush

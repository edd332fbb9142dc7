#include "server/log.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <ctime>

namespace newspush {

namespace log_detail {
std::atomic<LogLevel> threshold{LogLevel::info};
}

namespace {

std::atomic<LogFormat> g_format{LogFormat::text};

std::string_view level_name(LogLevel level, LogFormat format) {
  const bool json = format == LogFormat::json;
  switch (level) {
    case LogLevel::debug:
      return json ? "debug" : "DEBUG";
    case LogLevel::info:
      return json ? "info" : "INFO";
    case LogLevel::warn:
      return json ? "warn" : "WARN";
    case LogLevel::error:
      return json ? "error" : "ERROR";
  }
  return "?";
}

void append_time(std::string& out, std::chrono::system_clock::time_point now) {
  auto seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  if (millis.count() < 0) {  // before 1970: floor, not truncate
    millis += std::chrono::milliseconds(1000);
    --seconds;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(millis.count()));
  out += text;
}

// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF); 0 if the byte there does not start one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  const std::size_t left = text.size() - i;
  const auto continuation = [&](std::size_t k) { return k < left && (byte(i + k) & 0xC0) == 0x80; };
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    const unsigned char second = byte(i + 1);
    if (lead == 0xE0 && second < 0xA0) return 0;  // overlong
    if (lead == 0xED && second > 0x9F) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    const unsigned char second = byte(i + 1);
    if (lead == 0xF0 && second < 0x90) return 0;  // overlong
    if (lead == 0xF4 && second > 0x8F) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

void append_control_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
}

// The text as UTF-8 with control characters escaped JSON's way; `quotes_too`: '"' and '\' as well
// (inside a JSON string or a quoted text value), else left as they are (prose).
void append_escaped(std::string& out, std::string_view text, bool quotes_too) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      append_control_escape(out, c);
      ++i;
    } else if (quotes_too && (c == '"' || c == '\\')) {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (auto length = utf8_sequence_length(text, i); length > 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += kReplacementCharacter;  // one per byte that does not fit
      ++i;
    }
  }
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_escaped(out, text, true);
  out += '"';
}

// A text-format value goes bare unless something in it would blur where it ends or be unreadable.
bool needs_quotes(std::string_view text) {
  if (text.empty()) return true;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c == 0x7F || c == '"' || c == '=' || c == '\\') return true;
    if (c < 0x80) {
      ++i;
      continue;
    }
    const auto length = utf8_sequence_length(text, i);
    if (length == 0) return true;
    i += length;
  }
  return false;
}

template <class Number>
void append_number(std::string& out, Number value) {
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  out.append(text, ec == std::errc() ? end : text);
}

void append_value(std::string& out, const LogField::Value& value, LogFormat format) {
  const bool json = format == LogFormat::json;
  if (auto* text = std::get_if<std::string_view>(&value)) {
    if (json || needs_quotes(*text))
      append_json_string(out, *text);
    else
      append_escaped(out, *text, false);
  } else if (auto* integer = std::get_if<std::int64_t>(&value)) {
    append_number(out, *integer);
  } else if (auto* natural = std::get_if<std::uint64_t>(&value)) {
    append_number(out, *natural);
  } else if (auto* real = std::get_if<double>(&value)) {
    // JSON has no infinity nor NaN.
    if (std::isfinite(*real))
      append_number(out, *real);
    else
      out += json ? "null" : (std::isnan(*real) ? "nan" : (*real > 0 ? "inf" : "-inf"));
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

void append_key(std::string& out, std::string_view key, LogFormat format) {
  // The line's own members keep their meaning: a field of the same name is renamed.
  const bool reserved = key == "time" || key == "level" || key == "event";
  if (format == LogFormat::json) {
    out += reserved ? "\"field_" : "\"";
    append_escaped(out, key, true);
    out += "\":";
  } else {
    if (reserved) out += "field_";
    append_escaped(out, key, false);
    out += '=';
  }
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::text;
  if (text == "json") return LogFormat::json;
  return std::nullopt;
}

void set_log_level(LogLevel level) {
  log_detail::threshold.store(level, std::memory_order_relaxed);
}

void set_log_format(LogFormat format) { g_format.store(format, std::memory_order_relaxed); }

std::string format_log_line(LogFormat format, std::chrono::system_clock::time_point time,
                            LogLevel level, std::string_view event, LogFields fields) {
  std::string line;
  line.reserve(128);
  if (format == LogFormat::json) {
    line += R"({"time":")";
    append_time(line, time);
    line += R"(","level":")";
    line += level_name(level, format);
    line += R"(","event":)";
    append_json_string(line, event);
    for (const auto& field : fields) {
      line += ',';
      append_key(line, field.key(), format);
      append_value(line, field.value(), format);
    }
    line += "}\n";
    return line;
  }
  append_time(line, time);
  line += ' ';
  line += level_name(level, format);
  line += ' ';
  // Plain prose reads as it always did: the text alone.
  const auto* prose = event == kMessageEvent && fields.size() == 1 && fields.begin()->key() == "msg"
                          ? std::get_if<std::string_view>(&fields.begin()->value())
                          : nullptr;
  if (prose) {
    append_escaped(line, *prose, false);
  } else {
    append_escaped(line, event, false);
    for (const auto& field : fields) {
      line += ' ';
      append_key(line, field.key(), format);
      append_value(line, field.value(), format);
    }
  }
  line += '\n';
  return line;
}

void write_log_line(LogLevel level, std::string_view event, LogFields fields) {
  const std::string line = format_log_line(g_format.load(std::memory_order_relaxed),
                                           std::chrono::system_clock::now(), level, event, fields);
  // One write(2) per line keeps lines from several threads whole.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

void RateLimitedLog::log_event(LogLevel level, std::string_view event, LogFields fields) {
  if (!log_enabled(level)) return;
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  auto start = window_start_ns_.load(std::memory_order_relaxed);
  if (now_ns - start >= std::chrono::duration_cast<std::chrono::nanoseconds>(window_).count() &&
      window_start_ns_.compare_exchange_strong(start, now_ns)) {
    in_window_.store(0);
    if (auto dropped = suppressed_.exchange(0); dropped > 0)
      newspush::log_event(level, "log.suppressed", {{"count", dropped}, {"of", event}});
  }
  if (in_window_.fetch_add(1) < burst_) {
    newspush::log_event(level, event, fields);
  } else {
    suppressed_.fetch_add(1);
  }
}

}  // namespace newspush

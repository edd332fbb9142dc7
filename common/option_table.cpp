#include "common/option_table.hpp"

#include <utility>

namespace newspush::options {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || value <= 0) return std::nullopt;
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  long long scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60 * 1000;
  else if (unit == "h")
    scale = 3600 * 1000;
  else
    return std::nullopt;
  if (value > (1LL << 40) / scale) return std::nullopt;
  return std::chrono::milliseconds(value * scale);
}

std::string parse_host_port(const std::string& v, std::string& host, std::uint16_t& port) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) return "expected HOST:PORT";
  std::string parsed_host = v.substr(0, colon);
  if (parsed_host.front() == '[' && parsed_host.back() == ']')
    parsed_host = parsed_host.substr(1, parsed_host.size() - 2);
  std::uint16_t parsed_port = 0;
  if (auto e = parse_int<std::uint16_t>(v.substr(colon + 1), 0, 65535, parsed_port); !e.empty())
    return e;
  host = std::move(parsed_host);
  port = parsed_port;
  return {};
}

bool is_boolean_word(const std::string& v) {
  for (const char* word : {"1", "true", "yes", "on", "0", "false", "no", "off"})
    if (v == word) return true;
  return false;
}

void append_option_help(std::string& text, std::string_view flag, std::string_view value_name,
                        std::string_view help, std::string_view env,
                        std::string_view default_text) {
  constexpr std::size_t indent = 30, width = 100;
  const std::string margin(indent, ' ');
  std::string left = "  " + std::string(flag) + " " + std::string(value_name);
  text +=
      left.size() < indent ? left + std::string(indent - left.size(), ' ') : left + "\n" + margin;
  // Word-wrapped to the width, continuation lines under the first.
  std::size_t column = indent;
  while (!help.empty()) {
    auto space = help.find(' ');
    std::string_view word = help.substr(0, space);
    help = space == std::string_view::npos ? std::string_view() : help.substr(space + 1);
    if (column > indent && column + 1 + word.size() > width) {
      text += "\n" + margin;
      column = indent;
    }
    if (column > indent) {
      text += ' ';
      ++column;
    }
    text += word;
    column += word.size();
  }
  text += "\n" + margin + "[env " + std::string(env) + ", default " + std::string(default_text) +
          "]\n";
}

void append_help_footer(std::string& text) {
  text += "  --help                      print this help and exit\n";
  text += "  --version                   print the version and exit\n";
  text +=
      "\nDURATION: a whole number with ms, s, m or h (500ms, 2s, 5m, 2h); a bare number is "
      "seconds.\n";
}

}  // namespace newspush::options

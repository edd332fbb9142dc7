#pragma once
// What newspushd's and newspush-bridge's command lines share: a table of options, each with its
// flag, its environment variable, a value name, a help line and its default as shown. The
// environment is read first, then the flags (the flag wins); --help is rendered from the table,
// so it cannot drift from what is parsed. Each program keeps its own table and checks.
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace newspush::options {

enum class Action { run, help, version };
using EnvLookup = std::function<const char*(const char* name)>;

// "500ms", "2s", "5m", "2h"; a bare number is seconds. nullopt: not a positive duration.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// 1/0, true/false, yes/no, on/off.
bool is_boolean_word(const std::string& v);

// An error message, empty when `text` is a whole number within [min, max] (then in `out`).
template <typename Int>
std::string parse_int(const std::string& text, Int min, Int max, Int& out) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min ||
      value > max)
    return "expected a number from " + std::to_string(min) + " to " + std::to_string(max);
  out = value;
  return {};
}

// HOST:PORT ([v6]:PORT too; port 0: any). An error message, empty when accepted (then in
// `host` and `port`).
std::string parse_host_port(const std::string& v, std::string& host, std::uint16_t& port);

// A flag that may repeat, or its variable's comma-separated list: each entry checked by `check`
// (an error message, empty when accepted) and appended to `out`.
template <typename Check>
std::string apply_list(std::vector<std::string>& out, const std::string& v, Check check) {
  std::size_t start = 0;
  for (;;) {
    auto comma = v.find(',', start);
    std::string entry =
        v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (auto error = check(entry); !error.empty()) return error;
    out.push_back(entry);
    if (comma == std::string::npos) return {};
    start = comma + 1;
  }
}

// Appends one option's lines of --help: the flag and value name, the help word-wrapped under
// it, then its variable and default.
void append_option_help(std::string& text, std::string_view flag, std::string_view value_name,
                        std::string_view help, std::string_view env,
                        std::string_view default_text);
// The lines every --help ends with: --help, --version and what a DURATION is.
void append_help_footer(std::string& text);

template <typename Option>
std::string render_help(std::string text, std::span<const Option> table) {
  for (const auto& option : table)
    append_option_help(text, option.flag, option.value_name, option.help, option.env,
                       option.default_text);
  append_help_footer(text);
  return text;
}

// The table's variables from `env`, then `args`. `apply(option, value, source)` sets the value
// or throws the program's error; unknown flags and missing values throw `Error` with one line.
// An option whose `is_switch` is set may stand alone (`--flag` means true; `--flag false` works).
template <typename Error, typename Option, typename Apply>
Action parse(const std::vector<std::string>& args, const EnvLookup& env,
             std::span<const Option> table, Apply&& apply) {
  for (const auto& option : table)
    if (const char* value = env(option.env)) apply(option, std::string(value), option.env);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") return Action::help;
    if (arg == "--version") return Action::version;
    std::string name = arg, value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const Option* match = nullptr;
    for (const auto& option : table)
      if (name == option.flag) match = &option;
    // The name only: a mistyped --redis-url=... must not print the password that follows.
    if (!match) throw Error("unknown option '" + name + "' (see --help)");
    if (!has_value && match->is_switch) {
      has_value = i + 1 < args.size() && is_boolean_word(args[i + 1]);
      value = has_value ? args[++i] : "true";
    } else if (!has_value) {
      if (i + 1 >= args.size()) throw Error(name + ": missing value " + match->value_name);
      value = args[++i];
    }
    apply(*match, value, name);
  }
  return Action::run;
}

}  // namespace newspush::options

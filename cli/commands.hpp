#pragma once
// The newspush subcommands and the small argument helpers they share.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace newspush::cli {

// Bad command line: main() prints "newspush: <what>" and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `args` excludes the program and subcommand names. Each returns the process exit code and
// prints its own help for --help.
int run_watch(std::span<char* const> args);
int run_demo_feed(std::span<char* const> args);
int run_publish(std::span<char* const> args);
int run_retract(std::span<char* const> args);
int run_token(std::span<char* const> args);

// Walks a subcommand's arguments; accepts "--flag value" and "--flag=value".
class ArgReader {
 public:
  explicit ArgReader(std::span<char* const> args) : args_(args) {}
  bool done() const { return index_ >= args_.size(); }
  std::string_view current() const { return args_[index_]; }
  // True (and consumes) when the current argument is the flag `name` with no value.
  bool flag(std::string_view name);
  // True (and consumes, storing the value) when the current argument is `name` with a value.
  bool option(std::string_view name, std::string* value);
  std::string_view take() { return args_[index_++]; }

 private:
  std::span<char* const> args_;
  std::size_t index_ = 0;
};

// Whole-string unsigned integer in [min, max]; throws UsageError naming `what`.
std::uint64_t parse_number(std::string_view text, std::string_view what, std::uint64_t min,
                           std::uint64_t max);

// "HH:MM:SS" local time, for log lines.
std::string clock_now();

// "YYYY-MM-DDTHH:MM:SSZ", the current UTC time, for articles' published_at.
std::string iso8601_utc_now();

}  // namespace newspush::cli

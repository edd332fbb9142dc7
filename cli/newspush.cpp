// newspush: the operator's and newcomer's command line for a newspushd deployment.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/commands.hpp"

#ifndef NEWSPUSH_VERSION
#error "NEWSPUSH_VERSION must be defined by the build"
#endif

namespace newspush::cli {

namespace {

constexpr const char* kHelp =
    "newspush " NEWSPUSH_VERSION
    " - command line for the newspush news push service\n"
    "\n"
    "Usage:\n"
    "  newspush watch [--url URL] [--count N] [--raw] [--token TOKEN] [CATEGORY...]\n"
    "      Connect to newspushd, subscribe and print each article as it is pushed.\n"
    "  newspush publish [--redis URL] [--history-key KEY]\n"
    "                   (--file PATH | --json STRING | --id ID --category SLUG --title TITLE\n"
    "                    [--summary S] [--url U] [--image U] [--tag T]... [--breaking]\n"
    "                    [--published-at ISO])\n"
    "      Validate an article and publish it atomically into the shared history; prints\n"
    "      'published|updated|duplicate CURSOR'.\n"
    "  newspush retract [--redis URL] [--history-key KEY] ID\n"
    "      Withdraw a published article; subscribers get a retract event. Prints\n"
    "      'retracted CURSOR'.\n"
    "  newspush token [--secret SECRET] [--category PATTERN]... [--ttl SECONDS] [--sub READER]\n"
    "      Print a reader's connection token (JWT, HS256) for subscriber-only categories,\n"
    "      signed with newspushd's --token-secret (default $NEWSPUSH_TOKEN_SECRET).\n"
    "  newspush demo-feed [--redis URL] [--channel NAME] [--interval-ms MS] [--count N]\n"
    "                     [--views-url URL [--key KEY] [--views-per-second N]]\n"
    "      Publish sample articles on Redis pub/sub, as a newsroom would; with --views-url,\n"
    "      also send synthetic reader views so that the trending lists move.\n"
    "  newspush --help | --version\n"
    "\n"
    "'newspush COMMAND --help' describes a command's options. --redis takes\n"
    "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] and defaults to $NEWSPUSH_REDIS; with\n"
    "--redis-sentinel HOST:PORT[,...] --redis-master NAME (or $NEWSPUSH_REDIS_SENTINELS and\n"
    "$NEWSPUSH_REDIS_MASTER) publish, retract and demo-feed find the primary through Sentinel.\n"
    "\n"
    "Try it: newspushd --redis redis://127.0.0.1:6379 in one terminal,\n"
    "        newspush watch sports culture in a second, newspush demo-feed in a third,\n"
    "        or: newspush publish --id first --category sports --title \"Hello\" --breaking\n";

}  // namespace

bool ArgReader::flag(std::string_view name) {
  if (done() || current() != name) return false;
  ++index_;
  return true;
}

bool ArgReader::option(std::string_view name, std::string* value) {
  if (done()) return false;
  const std::string_view arg = current();
  if (arg == name) {
    if (index_ + 1 >= args_.size()) throw UsageError(std::string(name) + " needs a value");
    *value = args_[index_ + 1];
    index_ += 2;
    return true;
  }
  if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
    *value = std::string(arg.substr(name.size() + 1));
    ++index_;
    return true;
  }
  return false;
}

std::uint64_t parse_number(std::string_view text, std::string_view what, std::uint64_t min,
                           std::uint64_t max) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw UsageError(std::string(what) + " must be a whole number from " + std::to_string(min) +
                     " to " + std::to_string(max) + ", got '" + std::string(text) + "'");
  }
  return value;
}

std::string clock_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}

std::string iso8601_utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace newspush::cli

int main(int argc, char** argv) {
  using namespace newspush::cli;
  const std::span<char* const> all(argv, static_cast<std::size_t>(argc));
  try {
    if (all.size() < 2)
      throw UsageError("missing command (watch, publish, retract, demo-feed, token)");
    const std::string_view command = all[1];
    const auto rest = all.subspan(2);
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << kHelp;
      return 0;
    }
    if (command == "--version" || command == "-V") {
      std::cout << "newspush " NEWSPUSH_VERSION "\n";
      return 0;
    }
    if (command == "watch") return run_watch(rest);
    if (command == "demo-feed") return run_demo_feed(rest);
    if (command == "publish") return run_publish(rest);
    if (command == "retract") return run_retract(rest);
    if (command == "token") return run_token(rest);
    throw UsageError("unknown command '" + std::string(command) + "'");
  } catch (const UsageError& error) {
    std::cerr << "newspush: " << error.what() << " (see newspush --help)\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "newspush: " << error.what() << "\n";
    return 1;
  }
}

#include "loadtest/options.hpp"

#include <charconv>
#include <functional>
#include <string_view>
#include <vector>

namespace newspush::loadtest {
namespace {

struct Flag {
  const char* name;
  const char* value_name;  // nullptr: the flag takes no value
  const char* help;
  std::function<void(Options&, std::string_view)> apply;
};

template <typename Number>
Number parse_number(std::string_view flag, std::string_view text, Number min, Number max) {
  Number value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    throw OptionsError(std::string(flag) + ": bad value '" + std::string(text) + "'");
  }
  return value;
}

template <typename Number>
std::function<void(Options&, std::string_view)> number(Number Options::*field, const char* flag,
                                                       Number min, Number max) {
  return [=](Options& options, std::string_view text) {
    options.*field = parse_number<Number>(flag, text, min, max);
  };
}

std::function<void(Options&, std::string_view)> text(std::string Options::*field) {
  return [=](Options& options, std::string_view value) { options.*field = std::string(value); };
}

Mode parse_mode(std::string_view text) {
  if (text == "fixed") return Mode::fixed;
  if (text == "ramp") return Mode::ramp;
  if (text == "idle") return Mode::idle;
  if (text == "slow") return Mode::slow;
  if (text == "reconnect") return Mode::reconnect;
  throw OptionsError("--mode: expected fixed, ramp, idle, slow or reconnect, got '" +
                     std::string(text) + "'");
}

Target parse_target(std::string_view text) {
  if (text == "newspushd") return Target::newspushd;
  if (text == "nchan") return Target::nchan;
  throw OptionsError("--target: expected newspushd or nchan, got '" + std::string(text) + "'");
}

Transport parse_transport(std::string_view text) {
  if (text == "websocket") return Transport::websocket;
  if (text == "sse") return Transport::sse;
  throw OptionsError("--transport: expected websocket or sse, got '" + std::string(text) + "'");
}

const std::vector<Flag>& flags() {
  using O = Options;
  static const std::vector<Flag> table = {
      {"--mode", "MODE", "fixed | ramp | idle | slow | reconnect [fixed]",
       [](O& o, std::string_view v) { o.mode = parse_mode(v); }},
      {"--target", "SERVER", "newspushd | nchan (nginx + Nchan, the peer) [newspushd]",
       [](O& o, std::string_view v) { o.target = parse_target(v); }},
      {"--transport", "KIND",
       "websocket | sse (GET /sse?categories=... streams; newspushd only) [websocket]",
       [](O& o, std::string_view v) { o.transport = parse_transport(v); }},
      {"--url", "URL",
       "newspushd endpoint [ws://127.0.0.1:8080/ws; sse: http://127.0.0.1:8080/sse];\n"
       "                          nchan: subscriber prefix ws://H:P/sub/",
       text(&O::url)},
      {"--tls", nullptr,
       "TLS to newspushd (wss://, https:// for SSE); the certificate is not verified\n"
       "                          unless --tls-ca is given [off]",
       [](O& o, std::string_view) { o.tls = true; }},
      {"--tls-ca", "FILE",
       "with --tls: verify the server's certificate against this CA (PEM), and that it\n"
       "                          names the --url host [none]",
       text(&O::tls_ca)},
      {"--publish-url", "URL", "nchan: publisher prefix [http://H:P/pub/ of --url]",
       text(&O::publish_url)},
      {"--redis", "URL", "Redis the articles are published on [redis://127.0.0.1:6379]",
       text(&O::redis)},
      {"--channel", "NAME", "Redis channel [news:articles]", text(&O::channel)},
      {"--connections", "N", "connections to open [100]",
       number(&O::connections, "--connections", 1u, 1'000'000u)},
      {"--source-addresses", "K", "bind clients to 127.0.0.1 .. 127.0.0.K [4]",
       number(&O::source_addresses, "--source-addresses", 1u, 254u)},
      {"--categories", "N", "categories per connection, of the 8 [2]",
       number(&O::categories_per_client, "--categories", 1u, 8u)},
      {"--seed", "N", "seed of the category mix [1]",
       number(&O::seed, "--seed", std::uint64_t{0}, ~std::uint64_t{0})},
      {"--threads", "N", "client I/O threads [1]", number(&O::threads, "--threads", 1u, 64u)},
      {"--connect-rate", "N", "new connections per second [2000]",
       number(&O::connect_rate, "--connect-rate", 1.0, 1e6)},
      {"--rate", "R", "articles per second (ramp: first step) [50]",
       number(&O::rate, "--rate", 0.0, 1e6)},
      {"--breaking-rate", "R", "breaking articles per second, sent to every client [0]",
       number(&O::breaking_rate, "--breaking-rate", 0.0, 1e5)},
      {"--article-bytes", "N", "approximate size of each published article [600]",
       number(&O::article_bytes, "--article-bytes", 200u, 200'000u)},
      {"--duration", "S", "seconds of publishing (fixed, slow, reconnect) or holding (idle) [10]",
       number(&O::duration, "--duration", 0.1, 86400.0)},
      {"--warmup", "S", "pause between all-subscribed and the first article [1]",
       number(&O::warmup, "--warmup", 0.0, 600.0)},
      {"--ramp-step", "R", "ramp: articles/s added per step [50]",
       number(&O::ramp_step, "--ramp-step", 0.1, 1e6)},
      {"--step-seconds", "S", "ramp: seconds per step [5]",
       number(&O::step_seconds, "--step-seconds", 0.5, 3600.0)},
      {"--max-rate", "R", "ramp: last step's articles/s [1000]",
       number(&O::max_rate, "--max-rate", 0.1, 1e6)},
      {"--p99-target-ms", "MS", "ramp: a step passes when p99 stays under this [50]",
       number(&O::p99_target_ms, "--p99-target-ms", 0.001, 1e6)},
      {"--slow-fraction", "F", "slow: share of clients that stop reading [0.1]",
       number(&O::slow_fraction, "--slow-fraction", 0.0, 1.0)},
      {"--server-pid", "PID", "sample this process's CPU and RSS from /proc [none]",
       number(&O::server_pid, "--server-pid", 1, 1 << 30)},
      {"--kill-after", "S", "reconnect: seconds of publishing before SIGTERM to --server-pid [3]",
       number(&O::kill_after, "--kill-after", 0.0, 3600.0)},
      {"--json", "PATH", "write the results as JSON", text(&O::json_path)},
      {"--html", "PATH", "write a self-contained HTML report", text(&O::html_path)},
      {"--compare", "JSON", "print earlier --json results side by side and exit (repeat it)",
       [](O& o, std::string_view v) { o.compare_paths.emplace_back(v); }},
      {"--help", nullptr, "print this help", [](O& o, std::string_view) { o.help = true; }},
  };
  return table;
}

}  // namespace

const char* to_string(Mode mode) {
  switch (mode) {
    case Mode::fixed:
      return "fixed";
    case Mode::ramp:
      return "ramp";
    case Mode::idle:
      return "idle";
    case Mode::slow:
      return "slow";
    case Mode::reconnect:
      return "reconnect";
  }
  return "?";
}

const char* to_string(Target target) { return target == Target::nchan ? "nchan" : "newspushd"; }

const char* to_string(Transport transport) {
  return transport == Transport::sse ? "sse" : "websocket";
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_inline_value = false;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    const Flag* flag = nullptr;
    for (const auto& candidate : flags()) {
      if (arg == candidate.name) flag = &candidate;
    }
    if (flag == nullptr)
      throw OptionsError("unknown option '" + std::string(arg) + "' (try --help)");
    if (flag->value_name != nullptr && !has_inline_value) {
      if (i + 1 >= argc) throw OptionsError(std::string(arg) + " needs a value");
      value = argv[++i];
    }
    flag->apply(options, value);
  }
  if (options.mode == Mode::ramp && options.max_rate < options.rate) {
    throw OptionsError("--max-rate must be at least --rate");
  }
  if (options.target == Target::nchan &&
      (options.mode == Mode::slow || options.mode == Mode::reconnect)) {
    throw OptionsError("--target nchan supports --mode fixed, ramp and idle");
  }
  if (options.target == Target::nchan && options.transport == Transport::sse) {
    throw OptionsError("--transport sse measures newspushd only (Nchan is read over WebSocket)");
  }
  if (options.url.starts_with("wss://") || options.url.starts_with("https://")) options.tls = true;
  if (options.target == Target::nchan && options.tls) {
    throw OptionsError("--tls measures newspushd only (the Nchan setup serves plain ws://)");
  }
  if (!options.tls_ca.empty() && !options.tls) throw OptionsError("--tls-ca needs --tls");
  if (options.url.empty()) {
    if (options.tls)
      options.url = options.transport == Transport::sse ? "https://127.0.0.1:8080/sse"
                                                        : "wss://127.0.0.1:8080/ws";
    else
      options.url = options.transport == Transport::sse ? "http://127.0.0.1:8080/sse"
                                                        : "ws://127.0.0.1:8080/ws";
  }
  return options;
}

std::string help_text() {
  std::string text =
      "Usage: newspush-loadtest [OPTIONS]\n"
      "Opens WebSocket connections (or SSE streams, --transport sse) to newspushd (or Nchan,\n"
      "--target nchan), publishes articles on Redis (Nchan: HTTP POST) and measures end-to-end\n"
      "latency, deliveries/s, losses and (with --server-pid) the server's CPU and RSS.\n"
      "Every mode stops by itself. Exits 1 when an article was lost, duplicated or reordered.\n\n"
      "Options:\n";
  for (const auto& flag : flags()) {
    std::string left = std::string("  ") + flag.name;
    if (flag.value_name != nullptr) left += std::string(" ") + flag.value_name;
    if (left.size() < 26)
      left.resize(26, ' ');
    else
      left += "\n" + std::string(26, ' ');
    text += left + flag.help + "\n";
  }
  return text;
}

}  // namespace newspush::loadtest

#pragma once
// newspush-loadtest's settings: each field has its default here and its flag in options.cpp, which
// also generates --help from the same table.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace newspush::loadtest {

enum class Mode { fixed, ramp, idle, slow, reconnect };
// What is measured: newspushd (subscribe command, Redis PUBLISH) or Nchan, the peer (categories in
// the WebSocket path, HTTP POST to its publisher location).
enum class Target { newspushd, nchan };
// How each client of newspushd reads: a WebSocket (subscribe command) or a Server-Sent Events
// stream (GET /sse?categories=..., text/event-stream). Nchan is measured over WebSocket only.
enum class Transport { websocket, sse };

struct Options {
  Mode mode = Mode::fixed;
  Target target = Target::newspushd;
  Transport transport = Transport::websocket;
  // Empty until parsed: then ws://127.0.0.1:8080/ws, or http://127.0.0.1:8080/sse for SSE.
  // nchan: the subscriber prefix, ws://HOST:PORT/sub/.
  std::string url;
  // TLS to newspushd (wss://, https:// for SSE): --tls, or a wss:// / https:// --url. Without
  // --tls-ca the server's certificate is not checked (fine on loopback, said in --help).
  bool tls = false;
  std::string tls_ca;
  std::string publish_url;  // nchan: http://HOST:PORT/pub/ (default: from url)
  std::string redis = "redis://127.0.0.1:6379";
  std::string channel = "news:articles";
  unsigned connections = 100;
  unsigned source_addresses = 4;       // clients bind to 127.0.0.1 .. 127.0.0.K
  unsigned categories_per_client = 2;  // of the 8 slugs, chosen at random with --seed
  std::uint64_t seed = 1;
  unsigned threads = 1;        // io_context threads for the clients
  double connect_rate = 2000;  // new connections per second
  double rate = 50;            // articles per second (start rate in ramp)
  double breaking_rate = 0;    // breaking articles per second, delivered to everyone
  unsigned article_bytes = 600;
  double duration = 10;   // seconds of publishing (fixed, slow) or holding (idle)
  double warmup = 1;      // seconds between "all subscribed" and the first article
  double ramp_step = 50;  // articles per second added at each ramp step
  double step_seconds = 5;
  double max_rate = 1000;
  double p99_target_ms = 50;
  double slow_fraction = 0.1;  // slow mode: share of clients that stop reading
  int server_pid = 0;          // 0: no /proc sampling
  double kill_after = 3;       // reconnect mode: seconds of publishing before SIGTERM
  std::string json_path;
  std::string html_path;
  std::vector<std::string> compare_paths;  // --compare: print these JSON results side by side
  bool help = false;
};

struct OptionsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Options parse_options(int argc, char** argv);  // throws OptionsError
std::string help_text();
const char* to_string(Mode mode);
const char* to_string(Target target);
const char* to_string(Transport transport);
// How newspushd ends a client that stopped reading: close code 1013, or "event: close" with the
// code slow_consumer on SSE.
inline const char* slow_close_label(Transport transport) {
  return transport == Transport::sse ? "slow_consumer" : "1013";
}

}  // namespace newspush::loadtest

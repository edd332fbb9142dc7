#pragma once
// N WebSocket clients of newspushd (or Nchan) on a few io_context threads. Beast stays inside
// client_fleet.cpp (the one heavy translation unit); this header only speaks counters and
// histograms.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "loadtest/article_wire.hpp"
#include "loadtest/latency_histogram.hpp"

namespace newspush::loadtest {

struct FleetSettings {
  std::string host = "127.0.0.1";  // numeric IPv4 of the server
  std::uint16_t port = 8080;
  std::string target = "/ws";
  // Nchan: no subscribe command; each client opens target + "<cat1>,<cat2>,breaking", counts as
  // subscribed once the handshake is done, and every frame is one raw article.
  bool nchan = false;
  // Server-Sent Events: each client sends GET target?categories=<cat1>,<cat2> on a plain
  // connection, counts as subscribed at the "subscribed" event and reads "article" events
  // (their data is the WebSocket message). A "close" event ends the client with its code.
  bool sse = false;
  // TLS under either transport (newspushd only): the TLS handshake (SNI: host, unless numeric)
  // comes before the WebSocket or HTTP one. tls_ca empty: the certificate is not verified.
  bool tls = false;
  std::string tls_ca;
  unsigned connections = 100;
  unsigned source_addresses = 4;  // 127.0.0.1 .. 127.0.0.K
  unsigned categories_per_client = 2;
  std::uint64_t seed = 1;
  unsigned threads = 1;
  double connect_rate = 2000;
  double slow_fraction = 0;  // these subscribe to every category and stop reading once subscribed
  bool reconnect = false;    // reconnect and resubscribe after any close (reconnect mode)
};

// What the reading (not slow) clients received since the previous take_interval().
struct IntervalTotals {
  std::uint64_t deliveries = 0;    // every article line, duplicates included
  std::uint64_t unique = 0;        // deliveries minus duplicates
  std::uint64_t duplicates = 0;    // the same lt_seq twice in a row on one stream
  std::uint64_t out_of_order = 0;  // an lt_seq older than the previous one on its stream
  std::uint64_t bytes = 0;         // frame payload bytes
  std::uint64_t frames = 0;
  LatencyHistogram latency;  // publish -> receive, microseconds

  void add(const IntervalTotals& other);
};

struct ConnectionCounts {
  std::uint64_t attempts = 0;
  std::uint64_t subscribed_now = 0;  // connected and subscription confirmed, currently
  std::uint64_t connect_failures = 0;
  std::uint64_t closes = 0;        // connections that ended after subscribing
  std::uint64_t resubscribed = 0;  // came back after a close (reconnect mode)
};

// Filled once the fleet has stopped.
struct FleetSummary {
  unsigned reading_clients = 0;  // subscribed clients that kept reading
  unsigned slow_clients = 0;
  std::uint64_t expected = 0;  // sum over reading clients of what they subscribed to
  std::uint64_t received_unique = 0;
  std::uint64_t missing = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t out_of_order = 0;
  unsigned clients_with_loss = 0;
  std::uint64_t slow_received = 0;  // articles the slow clients got before they were cut off
  // reading clients: "1001", "eof", ... (SSE: the close event's code, "shutdown", ...)
  std::map<std::string, std::uint64_t> close_labels;
  std::map<std::string, std::uint64_t> slow_close_labels;  // slow clients, "open" if never closed
  std::map<std::string, std::uint64_t> connect_errors;
  LatencyHistogram connect_latency;  // start of connect -> subscription confirmed
  LatencyHistogram outage;           // close -> resubscribed (reconnect mode)
};

class ClientFleet {
 public:
  explicit ClientFleet(FleetSettings settings);
  ~ClientFleet();
  ClientFleet(const ClientFleet&) = delete;
  ClientFleet& operator=(const ClientFleet&) = delete;

  void start();  // connects at settings.connect_rate, from the I/O threads
  ConnectionCounts counts() const;
  IntervalTotals take_interval();
  // Reading clients subscribed to each stream right now (breaking: all of them).
  std::array<std::uint64_t, kStreams> subscribers_per_stream() const;
  void resume_slow_readers();  // slow clients read again (to see how they were closed)
  void stop();                 // stops the threads; summarize() is valid afterwards
  FleetSummary summarize(const std::array<std::uint64_t, kStreams>& published) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace newspush::loadtest

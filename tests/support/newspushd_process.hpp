#pragma once
// A newspushd child process on an ephemeral loopback port, for integration tests.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"

namespace newspush::test {

using namespace std::chrono_literals;

// The newspushd the tests run: the environment variable NEWSPUSHD_BIN when set and not empty (a
// ThreadSanitizer build, see scripts/test.sh), else the one built alongside the tests.
std::string newspushd_bin();

class NewspushdProcess {
 public:
  // Starts newspushd_bin() with `--listen 127.0.0.1:0 --redis <redis_url> --log-level debug`
  // followed by extra_args, and waits (up to startup_timeout) for its "listening" log line (in
  // the text format, or JSON when extra_args hold --log-format json). Throws std::runtime_error,
  // with the process output, if it exits or never logs the line. Readiness (Redis subscribed) is
  // separate: see wait_ready().
  explicit NewspushdProcess(std::string redis_url, std::vector<std::string> extra_args = {},
                            std::vector<std::string> extra_env = {},
                            std::chrono::milliseconds startup_timeout = 15s);
  // Unless the test already stopped it: SIGTERM, and a wait for it to drain and exit. Then the
  // current test fails, with newspushd's output, unless it exited 0 or was SIGKILLed by the test:
  // a crash, a sanitizer's report (scripts/test.sh runs TSan with exitcode=66) or a shutdown that
  // hangs would otherwise pass unseen, since a test's assertions are over by then.
  ~NewspushdProcess();
  NewspushdProcess(const NewspushdProcess&) = delete;
  NewspushdProcess& operator=(const NewspushdProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // With --admin-listen among the arguments: its port (else 0). /readyz and /metrics are then
  // asked there, so that tests of the public port's admission do not meet their own probes.
  std::uint16_t admin_port() const { return admin_port_; }
  // ws://127.0.0.1:PORT/ws
  std::string ws_url() const;

  // With --tls-cert among the arguments, /readyz and /metrics are asked over TLS.
  // Polls GET /readyz until it answers 200; false if it does not within timeout.
  bool wait_ready(std::chrono::milliseconds timeout = 15s);
  // Polls GET /readyz until it answers something other than 200 (e.g. after Redis went away).
  bool wait_not_ready(std::chrono::milliseconds timeout = 15s);

  // GET /metrics body; throws std::runtime_error if the request fails or is not 200.
  std::string metrics_text();
  // One sample from /metrics ("name" or "name{label=\"v\"}", see metric_value); throws
  // std::runtime_error if the series is absent.
  double metric(const std::string& name_with_labels);
  // nullopt instead of throwing when the series is absent.
  std::optional<double> metric_if_present(const std::string& name_with_labels);
  // Polls /metrics until the sample is >= value; false on timeout.
  bool wait_metric_at_least(const std::string& name_with_labels, double value,
                            std::chrono::milliseconds timeout = 15s);
  // Polls /metrics until the sample is <= value; false on timeout.
  bool wait_metric_at_most(const std::string& name_with_labels, double value,
                           std::chrono::milliseconds timeout = 15s);

  // SIGTERM, then waits for the exit; returns the exit code (-signal if killed by one), or
  // nullopt if it is still running after timeout (it is then left running: call kill()).
  std::optional<int> terminate(std::chrono::milliseconds timeout = 15s);
  void kill() { process_.kill(); }

  ChildProcess& process() { return process_; }
  // Every log line so far, '\n'-joined, for failure messages.
  std::string output() const { return process_.output(); }

 private:
  std::uint16_t operator_port() const { return admin_port_ ? admin_port_ : port_; }
  // GET on the operator port: over TLS (unverified) when started with --tls-cert.
  std::optional<HttpResponse> probe(const std::string& target, std::chrono::milliseconds timeout);

  ChildProcess process_;
  std::uint16_t port_ = 0;
  std::uint16_t admin_port_ = 0;
  bool tls_ = false;
};

}  // namespace newspush::test

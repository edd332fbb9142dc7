#include "tests/support/newspushd_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/tls_client.hpp"

#ifndef NEWSPUSHD_BIN
#error "NEWSPUSHD_BIN must be defined by the build (path of the newspushd executable)"
#endif

namespace newspush::test {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> make_argv(const std::string& redis_url,
                                   const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {newspushd_bin(), "--listen",    "127.0.0.1:0", "--redis",
                                   redis_url,     "--log-level", "debug"};
  for (const auto& arg : extra_args) argv.push_back(arg);
  return argv;
}

// What precedes the port in the "listening" and "listening.admin" lines, in either log format.
struct Markers {
  std::string_view listening;
  std::string_view admin;
};
constexpr Markers kTextMarkers = {"INFO listening address=127.0.0.1:",
                                  "INFO listening.admin address=127.0.0.1:"};
constexpr Markers kJsonMarkers = {R"("event":"listening","address":"127.0.0.1:)",
                                  R"("event":"listening.admin","address":"127.0.0.1:)"};

const Markers& markers_for(const std::vector<std::string>& extra_args) {
  for (std::size_t i = 0; i < extra_args.size(); ++i) {
    if (extra_args[i] == "--log-format=json" ||
        (extra_args[i] == "--log-format" && i + 1 < extra_args.size() &&
         extra_args[i + 1] == "json"))
      return kJsonMarkers;
  }
  return kTextMarkers;
}

// The port from the first line holding `marker` ("listening address=127.0.0.1:PORT"); 0 if none.
std::uint16_t parse_port(const std::vector<std::string>& lines, std::string_view marker) {
  for (const auto& line : lines) {
    const auto at = line.find(marker);
    if (at == std::string::npos) continue;
    const char* begin = line.data() + at + marker.size();
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(begin, line.data() + line.size(), port);
    if (ec == std::errc() && end != begin && port > 0 && port <= 65535) {
      return static_cast<std::uint16_t>(port);
    }
  }
  return 0;
}

template <class Predicate>
bool poll_until(std::chrono::milliseconds timeout, Predicate predicate) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Longer than the default --drain-timeout (5 s) and than any a test sets, with room for a
// sanitized build on a loaded machine.
constexpr auto kStopTimeout = std::chrono::seconds(60);

}  // namespace

std::string newspushd_bin() {
  const char* from_environment = std::getenv("NEWSPUSHD_BIN");
  return from_environment != nullptr && *from_environment != '\0' ? from_environment
                                                                   : NEWSPUSHD_BIN;
}

NewspushdProcess::~NewspushdProcess() {
  auto status = process_.wait_exit(std::chrono::milliseconds(0));
  if (!status) {
    process_.send_signal(SIGTERM);
    status = process_.wait_exit(kStopTimeout);
  }
  if (!status) {
    process_.kill();
    ADD_FAILURE() << "newspushd (pid " << process_.pid() << ") still running "
                  << kStopTimeout.count() << " s after SIGTERM; output:\n"
                  << process_.output();
  } else if (*status != 0 && *status != -SIGKILL) {
    ADD_FAILURE() << "newspushd (pid " << process_.pid() << ") exited with "
                  << (*status < 0 ? "signal " + std::to_string(-*status)
                                  : "code " + std::to_string(*status))
                  << (*status == 66 ? " (ThreadSanitizer's exitcode in scripts/test.sh)" : "")
                  << "; output:\n"
                  << process_.output();
  }
}

NewspushdProcess::NewspushdProcess(std::string redis_url, std::vector<std::string> extra_args,
                                   std::vector<std::string> extra_env,
                                   std::chrono::milliseconds startup_timeout)
    : process_(make_argv(redis_url, extra_args), std::move(extra_env)) {
  const auto& markers = markers_for(extra_args);
  if (!process_.wait_for_line(markers.listening, startup_timeout)) {
    const auto status = process_.wait_exit(std::chrono::milliseconds(0));
    process_.kill();
    throw std::runtime_error(std::string("newspushd did not log its \"listening\" line ") +
                             (status ? "and exited with " + std::to_string(*status) : "in time") +
                             "; output:\n" + process_.output());
  }
  port_ = parse_port(process_.lines(), markers.listening);
  if (port_ == 0) {
    process_.kill();
    throw std::runtime_error("cannot read the port in newspushd's \"listening\" line; output:\n" +
                             process_.output());
  }
  tls_ = std::find(extra_args.begin(), extra_args.end(), "--tls-cert") != extra_args.end();
  if (std::find(extra_args.begin(), extra_args.end(), "--admin-listen") == extra_args.end()) return;
  if (process_.wait_for_line(markers.admin, startup_timeout))
    admin_port_ = parse_port(process_.lines(), markers.admin);
  if (admin_port_ == 0) {
    process_.kill();
    throw std::runtime_error("cannot read the admin port in newspushd's log; output:\n" +
                             process_.output());
  }
}

std::optional<HttpResponse> NewspushdProcess::probe(const std::string& target,
                                                   std::chrono::milliseconds timeout) {
  // The harness asks its own child: what certificate answers is for the tests to check.
  if (tls_) return https_request(operator_port(), TlsClientOptions{}, "GET", target, timeout);
  return http_get(operator_port(), target, timeout);
}

std::string NewspushdProcess::ws_url() const {
  return "ws://127.0.0.1:" + std::to_string(port_) + "/ws";
}

bool NewspushdProcess::wait_ready(std::chrono::milliseconds timeout) {
  return poll_until(timeout, [&] {
    const auto response = probe("/readyz", std::chrono::seconds(2));
    return response && response->status == 200;
  });
}

bool NewspushdProcess::wait_not_ready(std::chrono::milliseconds timeout) {
  return poll_until(timeout, [&] {
    const auto response = probe("/readyz", std::chrono::seconds(2));
    return response && response->status != 200;
  });
}

std::string NewspushdProcess::metrics_text() {
  const auto response = probe("/metrics", std::chrono::seconds(10));
  if (!response) throw std::runtime_error("GET /metrics failed (no response)");
  if (response->status != 200) {
    throw std::runtime_error("GET /metrics answered " + std::to_string(response->status));
  }
  return response->body;
}

std::optional<double> NewspushdProcess::metric_if_present(const std::string& name_with_labels) {
  return metric_value(metrics_text(), name_with_labels);
}

double NewspushdProcess::metric(const std::string& name_with_labels) {
  const std::string text = metrics_text();
  const auto value = metric_value(text, name_with_labels);
  if (!value) {
    throw std::runtime_error("metric " + name_with_labels + " not found in /metrics:\n" + text);
  }
  return *value;
}

bool NewspushdProcess::wait_metric_at_least(const std::string& name_with_labels, double value,
                                            std::chrono::milliseconds timeout) {
  return poll_until(timeout, [&] {
    const auto response = probe("/metrics", std::chrono::seconds(2));
    if (!response || response->status != 200) return false;
    const auto sample = metric_value(response->body, name_with_labels);
    return sample && *sample >= value;
  });
}

bool NewspushdProcess::wait_metric_at_most(const std::string& name_with_labels, double value,
                                           std::chrono::milliseconds timeout) {
  return poll_until(timeout, [&] {
    const auto response = probe("/metrics", std::chrono::seconds(2));
    if (!response || response->status != 200) return false;
    const auto sample = metric_value(response->body, name_with_labels);
    return sample && *sample <= value;
  });
}

std::optional<int> NewspushdProcess::terminate(std::chrono::milliseconds timeout) {
  process_.send_signal(SIGTERM);
  return process_.wait_exit(timeout);
}

}  // namespace newspush::test

#pragma once
// Plain HTTP/1.1 requests against newspushd's admin endpoints (/healthz, /readyz, /metrics) and
// its upgrade path, for integration tests. One connection per request.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace newspush::test {

using namespace std::chrono_literals;

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // every response header, in order

  // The first header named `name` (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
};

// Sends `method target` to 127.0.0.1:port and reads the whole response. Returns nullopt when the
// connection fails, the server closes early or `timeout` (bounding the whole exchange) passes.
// A body sets Content-Length; `headers` are added as given (Host is always set).
std::optional<HttpResponse> http_request(
    std::uint16_t port, std::string method, std::string target, std::string body = {},
    std::vector<std::pair<std::string, std::string>> headers = {},
    std::chrono::milliseconds timeout = 10s);

std::optional<HttpResponse> http_get(std::uint16_t port, std::string target,
                                     std::chrono::milliseconds timeout = 10s);

// The value of the first sample in Prometheus text exposition whose series matches exactly:
// "name" matches the line `name 12` (not `name{x="y"} 12`), "name{a=\"b\",c=\"d\"}" matches
// `name{c="d",a="b"} 12` (same label set, any order). Comment lines are ignored; values such as
// +Inf and NaN parse; a trailing timestamp is ignored. nullopt when no sample matches.
std::optional<double> metric_value(const std::string& prometheus_text,
                                   std::string_view name_with_labels);

}  // namespace newspush::test

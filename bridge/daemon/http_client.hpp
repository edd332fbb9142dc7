#pragma once
// HTTP requests to the providers with libcurl's multi interface driven by the bridge's Asio
// io_context (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION: curl's sockets are watched by Asio, no
// thread of curl's own). HTTP/2 with multiplexing where the endpoint speaks it (APNs), HTTP/1.1
// otherwise; connections are kept and reused. Everything on the io_context's thread.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace newspush::bridge {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10'000};
  bool http2 = false;  // require HTTP/2 over TLS (APNs): no fallback to HTTP/1.1
};

struct HttpResponse {
  int status = 0;     // 0: no answer; `error` says why (curl's message)
  std::string error;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;   // bounded (a provider's answer is small; more is cut)
  std::chrono::microseconds latency{0};
  // The first header of that (lower-case) name, or empty.
  std::string_view header(std::string_view name) const;
};

struct HttpClientOptions {
  std::string extra_ca_file;       // --provider-ca: trusted besides the system's CAs
  long max_connections_per_host = 4;
  std::size_t max_response_body = 64 * 1024;
};

class HttpClient {
 public:
  // Throws std::runtime_error only if libcurl cannot be initialised (start-up).
  HttpClient(boost::asio::any_io_executor executor, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  // `done` is called exactly once, later, on the executor (never inside perform).
  void perform(HttpRequest request, std::function<void(HttpResponse)> done);
  // Requests started and not yet answered.
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace newspush::bridge

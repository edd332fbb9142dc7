#pragma once
// The bridge's HTTP listener (Beast lives in http_server.cpp only): one HttpSession per
// connection, keep-alive, bounded requests (16 KiB body, 8 KiB header), a deadline per request.
// Requests go to a handler that answers through a callback, possibly later (after Redis).
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace newspush::bridge {

struct ApiRequest {
  std::string method;
  std::string target;
  std::string authorization;
  std::string body;
  std::string origin;  // the Origin header (browsers' cross-origin requests), or empty
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};  // more headers (CORS)
};

using ApiHandler = std::function<void(ApiRequest, std::function<void(ApiResponse)>)>;

class HttpServer {
 public:
  // Throws std::runtime_error if it cannot listen (start-up).
  HttpServer(boost::asio::io_context& io, const std::string& host, std::uint16_t port,
             ApiHandler handler);
  ~HttpServer();
  std::uint16_t port() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace newspush::bridge

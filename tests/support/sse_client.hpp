#pragma once
// A Server-Sent Events reader of GET /sse for integration tests: sends the request on a bare
// TCP connection and parses the event stream as a browser's EventSource does (events end with a
// blank line; "event:", "id:", "data:" fields; lines starting with ':' are comments).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/raw_tcp.hpp"
#include "tests/support/tls_client.hpp"

namespace newspush::test {

struct SseEvent {
  std::string type = "message";  // "event:", or EventSource's default
  std::string id;                 // "id:" of this event (empty: none)
  std::string data;

  nlohmann::json json() const { return nlohmann::json::parse(data); }
};

class SseClient {
 public:
  // Connects and sends `GET target`. `headers` are added as given (Host is always set).
  SseClient(std::uint16_t port, const std::string& target,
            std::vector<std::pair<std::string, std::string>> headers = {}, int receive_buffer = 0);
  // The same over TLS (https://).
  SseClient(const TlsClientOptions& tls, std::uint16_t port, const std::string& target,
            std::vector<std::pair<std::string, std::string>> headers = {});

  // Reads the response head; its status, or nullopt if the connection ends first.
  std::optional<int> status(std::chrono::milliseconds timeout = 10s);
  // The response head as received (status line and headers).
  const std::string& head() const { return head_; }
  // The value of a response header (case-insensitive name), if present.
  std::optional<std::string> header(const std::string& name) const;

  // The next event; nullopt when the stream ends or the timeout passes first.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = 10s);
  // The next event of this type, skipping others; nullopt as for next().
  std::optional<SseEvent> next_of_type(const std::string& type, std::chrono::milliseconds timeout = 10s);
  // Reads `count` article events (skipping every other type).
  std::vector<SseEvent> articles(std::size_t count, std::chrono::milliseconds timeout = 10s);
  // Comment lines (": ping") seen so far.
  std::size_t comments() const { return comments_; }
  // The last "retry:" value seen (-1: none).
  long retry() const { return retry_; }
  // True when the server ended the stream (orderly close) within the timeout; the events still
  // buffered are dropped.
  bool wait_closed(std::chrono::milliseconds timeout = 10s) { return tcp_->wait_closed(timeout); }
  // Everything received (head and body).
  const std::string& raw() const { return tcp_->received(); }

 private:
  // One complete event from what is buffered, if there is one.
  std::optional<SseEvent> parse_buffered();
  void send_request(const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& headers);

  std::unique_ptr<ByteStream> tcp_;
  std::string head_;
  std::size_t parsed_ = 0;  // offset in tcp_.received() of the first unparsed byte
  std::size_t comments_ = 0;
  long retry_ = -1;
  bool ended_ = false;
};

}  // namespace newspush::test

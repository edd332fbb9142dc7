#pragma once
// TLS clients for integration tests of --tls-cert: a byte stream (for SSE and hand-written
// requests), HTTPS requests, and a WebSocket client over wss://. Each reports what the handshake
// agreed on (version, ALPN, the server certificate's serial), so tests can see which certificate
// a connection got. Same rules as the other clients: synchronous calls, every wait bounded.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/raw_tcp.hpp"

namespace newspush::test {

struct TlsClientOptions {
  std::string ca_file;                       // PEM roots to trust; empty: no verification
  std::string server_name = "localhost";     // SNI, and the name checked when verifying
  int max_version = 0;                       // e.g. TLS1_1_VERSION; 0: OpenSSL's default
  std::vector<std::string> alpn = {"http/1.1"};  // offered, in order; empty: no ALPN
  std::string preamble;  // raw bytes sent before the handshake (a PROXY protocol header)
};

// What a handshake agreed on.
struct TlsSessionInfo {
  std::string version;  // "TLSv1.3"
  std::string alpn;     // the protocol the server selected; empty: none
  std::string serial;   // the server certificate's serial number, in hex
};

class TlsConnection : public ByteStream {
 public:
  // TCP connect to 127.0.0.1:port and the TLS handshake; throws std::runtime_error (with
  // OpenSSL's reason) when either fails or `timeout` passes.
  TlsConnection(std::uint16_t port, const TlsClientOptions& options,
                std::chrono::milliseconds timeout = 10s);
  ~TlsConnection() override;

  bool send(std::string_view bytes, std::chrono::milliseconds timeout = 10s) override;
  const TlsSessionInfo& info() const { return info_; }

  struct Impl;

 protected:
  long read_some(std::chrono::steady_clock::time_point deadline) override;

 private:
  std::unique_ptr<Impl> impl_;
  TlsSessionInfo info_;
};

// One request over a fresh TLS connection (Connection: close); nullopt when the connection or
// the handshake fails, or the answer is incomplete within the timeout.
std::optional<HttpResponse> https_request(std::uint16_t port, const TlsClientOptions& options,
                                          const std::string& method, const std::string& target,
                                          std::chrono::milliseconds timeout = 10s,
                                          TlsSessionInfo* info = nullptr);

// A WebSocket client over TLS, with what these tests need: subscribe, read events, see the close.
class TlsWsClient {
 public:
  // Connects, shakes hands (TLS, then the upgrade of `path`); throws std::runtime_error.
  TlsWsClient(std::uint16_t port, const TlsClientOptions& options, const std::string& path = "/ws",
              std::chrono::milliseconds timeout = 10s);
  ~TlsWsClient();

  // Sends a subscribe and waits for its answer; nullopt on timeout or close.
  std::optional<nlohmann::json> subscribe(const std::vector<std::string>& categories,
                                          std::chrono::milliseconds timeout = 10s);
  // The next server message of this type (others skipped); nullopt on timeout or close.
  std::optional<nlohmann::json> next_event_of_type(std::string_view type,
                                                   std::chrono::milliseconds timeout = 10s);
  // The code of the server's close frame once the connection ended (nullopt: open, or no frame).
  std::optional<std::uint16_t> close_code() const { return close_code_; }
  bool closed() const { return closed_; }
  const TlsSessionInfo& info() const { return info_; }

  struct Impl;

 private:
  std::optional<nlohmann::json> next_event(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<Impl> impl_;
  TlsSessionInfo info_;
  std::vector<std::string> lines_;  // messages of a frame not yet returned
  bool closed_ = false;
  std::optional<std::uint16_t> close_code_;
};

}  // namespace newspush::test

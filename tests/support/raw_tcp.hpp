#pragma once
// A bare TCP connection to 127.0.0.1 for hostile-client tests: send any bytes, in any pieces,
// and watch what the server answers and when it closes. Blocking sockets bounded by poll().
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace newspush::test {

using namespace std::chrono_literals;

// Bytes to and from a server, read with deadlines: RawTcp, or TlsConnection (tls_client.hpp).
class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Writes every byte or gives up (false) when the peer closes or the timeout passes.
  virtual bool send(std::string_view bytes, std::chrono::milliseconds timeout = 10s) = 0;
  // Reads until the end of an HTTP response head ("\r\n\r\n") and returns its status code;
  // nullopt when the connection ends first (a reset included) or the timeout passes.
  std::optional<int> read_status(std::chrono::milliseconds timeout = 10s);
  // Reads until `needle` appears in what was received (e.g. a WebSocket welcome after a 101);
  // false if the connection ends first or the timeout passes.
  bool read_until(std::string_view needle, std::chrono::milliseconds timeout = 10s);
  // Reads (and drops) until the server closes; false if it is still open after the timeout.
  bool wait_closed(std::chrono::milliseconds timeout = 10s);
  // Everything read so far.
  const std::string& received() const { return received_; }
  // One read, appended to received(): >0 bytes, 0 when the server closed, -1 on error or timeout.
  long read_more(std::chrono::milliseconds timeout) {
    return read_some(std::chrono::steady_clock::now() + timeout);
  }

 protected:
  // One read with a deadline: >0 bytes appended, 0 on orderly close, -1 on error or timeout.
  virtual long read_some(std::chrono::steady_clock::time_point deadline) = 0;

  std::string received_;
};

class RawTcp : public ByteStream {
 public:
  // Throws std::runtime_error when the connection cannot be made. `source`: a loopback address
  // to connect from ("127.0.0.2"), to be another client than 127.0.0.1; empty: the default.
  // `receive_buffer`: SO_RCVBUF before connecting (0: the system's), to play a reader that
  // stops reading with little buffered in its kernel.
  explicit RawTcp(std::uint16_t port, const std::string& source = {}, int receive_buffer = 0);
  ~RawTcp() override;
  RawTcp(const RawTcp&) = delete;
  RawTcp& operator=(const RawTcp&) = delete;

  bool send(std::string_view bytes, std::chrono::milliseconds timeout = 10s) override;

 protected:
  long read_some(std::chrono::steady_clock::time_point deadline) override;

 private:
  int fd_ = -1;
};

}  // namespace newspush::test

#pragma once
// Synchronous WebSocket clients for integration tests.
//
// WsClient is a well-behaved client (Beast does the framing, masking and pong replies).
// RawWsClient does the upgrade by hand and then writes frames byte by byte, so abuse tests can
// send what Beast never would: a header announcing a huge payload, a bad opcode, an unmasked frame.
//
// Neither is thread-safe: one test thread drives each client. Both do their I/O on a private
// io_context that only runs inside their own calls, so a client reads from its socket only while
// a test is waiting on it; between calls the kernel buffers fill up, which is how slow-consumer
// tests make a client "stop reading".
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace newspush::test {

using namespace std::chrono_literals;

struct WsClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/ws";
  // Bounds TCP connect plus the HTTP upgrade.
  std::chrono::milliseconds connect_timeout = 10s;
  // SO_RCVBUF set before connect (so the TCP window stays small); 0 keeps the kernel default.
  // Slow-consumer tests set a small value so the server's backpressure shows up quickly.
  int receive_buffer_bytes = 0;
  // When true, Beast splits outgoing messages into frames of its write buffer size. Off here
  // (unlike Beast's default) so that one send is one frame, which frame-limit tests rely on.
  bool auto_fragment = false;
  // Extra request headers for the upgrade request (e.g. Origin).
  std::vector<std::pair<std::string, std::string>> headers;
};

class WsClient {
 public:
  // Connects and completes the upgrade; throws std::runtime_error (with the reason) on failure,
  // including a non-101 answer to the upgrade.
  static std::unique_ptr<WsClient> connect(std::uint16_t port, std::string path = "/ws",
                                           std::chrono::milliseconds timeout = 10s);
  static std::unique_ptr<WsClient> connect(const WsClientOptions& options);

  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Send one text/binary message (the payload is not checked: invalid UTF-8 goes out as is).
  // Throw std::runtime_error on failure or when the write does not finish within `timeout`;
  // the try_ variants return false instead.
  void send_text(std::string_view payload, std::chrono::milliseconds timeout = 10s);
  void send_binary(std::string_view payload, std::chrono::milliseconds timeout = 10s);
  bool try_send_text(std::string_view payload, std::chrono::milliseconds timeout = 10s);
  bool try_send_binary(std::string_view payload, std::chrono::milliseconds timeout = 10s);
  // Sends {"op":"subscribe","categories":[...]} and waits for the "subscribed" answer (other
  // events read meanwhile stay buffered for next_event). Returns that answer or nullopt (an
  // "error" answer is returned as is, so tests can look at it).
  std::optional<nlohmann::json> subscribe(const std::vector<std::string>& categories,
                                          std::chrono::milliseconds timeout = 10s);

  // The next JSON object from the server. A frame holding several objects separated by '\n' is
  // split and the rest kept for later calls; empty lines are skipped. Returns nullopt on timeout
  // or when the connection is closed (see closed()/close_code()). Throws std::runtime_error if a
  // line is not valid JSON (a protocol bug the test must see). A zero timeout polls: it returns
  // what already arrived on the socket without waiting.
  std::optional<nlohmann::json> next_event(std::chrono::milliseconds timeout = 10s);
  // Like next_event, but discards events of other types until one of `type` arrives. The
  // timeout bounds the whole search.
  std::optional<nlohmann::json> next_event_of_type(std::string_view type,
                                                   std::chrono::milliseconds timeout = 10s);
  // The next whole frame (message) as received, not split. Frames already partly consumed by
  // next_event are not returned again. Returns nullopt on timeout or close.
  std::optional<std::string> read_raw_frame(std::chrono::milliseconds timeout = 10s);
  // Waits for n events of type "article" (others skipped); returns what arrived within the
  // timeout, possibly fewer than n.
  std::vector<nlohmann::json> collect_articles(std::size_t n,
                                               std::chrono::milliseconds timeout = 10s);
  // True when no event arrives within `quiet` (the buffered ones count as arrived).
  bool no_event_within(std::chrono::milliseconds quiet);

  // Reads and discards until the server closes the connection; true if it did within timeout.
  bool wait_closed(std::chrono::milliseconds timeout = 10s);
  bool closed() const { return closed_; }
  // The code of the close frame the server sent, if any (1005 for an empty close payload;
  // nullopt when the connection ended without one, or is still open). A send that fails ends the
  // connection: the client then looks for the server's close frame in the bytes left on the
  // socket (so an oversized send still reports 1009), discarding other frames.
  std::optional<std::uint16_t> close_code() const { return close_code_; }
  std::string close_reason() const { return close_reason_; }
  // The error that ended reading ("websocket: closed", "end of stream", ...); empty while open.
  std::string read_error() const { return read_error_; }

  // Sends a normal close (1000) and waits briefly for the server's answer. Never throws.
  void close();

  // The client never reads in the background: it reads only inside next_event, read_raw_frame,
  // collect_articles, subscribe and wait_closed. stop_reading() documents the intent in a test
  // and makes those calls return only events already buffered (nullopt otherwise) without
  // touching the socket, so the server sees a client that stopped reading. Server pings are not
  // answered meanwhile. resume_reading() undoes it.
  void stop_reading() { reading_stopped_ = true; }
  void resume_reading() { reading_stopped_ = false; }

  // Whole frames (messages) read so far and their payload bytes.
  std::size_t frames_received() const { return frames_received_; }
  std::size_t bytes_received() const { return bytes_received_; }

  struct Impl;

 private:
  explicit WsClient(std::unique_ptr<Impl> impl);
  bool send(std::string_view payload, bool binary, std::chrono::milliseconds timeout,
            std::string* error);
  void salvage_close_frame(const std::string& write_error);
  // Runs the I/O until a frame is queued, the connection ends or the deadline passes.
  bool fill_frames(std::chrono::steady_clock::time_point deadline);
  void on_read_done(const std::string& error, std::optional<std::uint16_t> code,
                    std::string reason);

  std::unique_ptr<Impl> impl_;
  std::deque<std::string> frames_;      // whole frames not yet consumed
  std::deque<std::string> lines_;       // remaining objects of a split frame
  std::deque<nlohmann::json> stashed_;  // events read by subscribe() before its answer
  bool closed_ = false;
  bool reading_stopped_ = false;
  std::optional<std::uint16_t> close_code_;
  std::string close_reason_;
  std::string read_error_;
  std::size_t frames_received_ = 0;
  std::size_t bytes_received_ = 0;
};

// One frame as it was on the wire (server frames are never masked).
struct RawFrame {
  bool fin = true;
  std::uint8_t opcode = 0;  // 0x0 continuation, 0x1 text, 0x2 binary, 0x8 close, 0x9 ping, 0xA pong
  std::string payload;
  // For close frames: the code and reason from the payload (code absent if the payload is empty).
  std::optional<std::uint16_t> close_code() const;
  std::string close_reason() const;
};

class RawWsClient {
 public:
  static constexpr std::uint8_t kText = 0x1;
  static constexpr std::uint8_t kBinary = 0x2;
  static constexpr std::uint8_t kClose = 0x8;
  static constexpr std::uint8_t kPing = 0x9;
  static constexpr std::uint8_t kPong = 0xA;

  // TCP connect plus a hand-written upgrade request; throws std::runtime_error unless the answer
  // is "101 Switching Protocols". Bytes the server sends right after the upgrade are kept.
  static std::unique_ptr<RawWsClient> connect(std::uint16_t port, std::string path = "/ws",
                                              std::chrono::milliseconds timeout = 10s);
  ~RawWsClient();
  RawWsClient(const RawWsClient&) = delete;
  RawWsClient& operator=(const RawWsClient&) = delete;

  // Writes one frame: FIN/opcode byte, length, mask (when masked, as clients must) and payload.
  // Returns false if the write fails or times out (e.g. the server closed already).
  bool send_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                  bool masked = true, std::chrono::milliseconds timeout = 10s);
  // Writes only a frame header announcing `announced_length` payload bytes and no payload: a
  // server enforcing its frame limit must close at the header.
  bool send_frame_header(std::uint8_t opcode, std::uint64_t announced_length, bool fin = true,
                         std::chrono::milliseconds timeout = 10s);
  // Arbitrary bytes on the socket.
  bool send_bytes(std::string_view bytes, std::chrono::milliseconds timeout = 10s);

  // The next frame, or nullopt on timeout / end of stream (see eof()).
  std::optional<RawFrame> read_frame(std::chrono::milliseconds timeout = 10s);
  // Reads frames (answering nothing) until a close frame; returns its code, or nullopt if the
  // stream ended or timed out first. close_reason() then holds the reason text.
  std::optional<std::uint16_t> read_close_code(std::chrono::milliseconds timeout = 10s);
  std::string close_reason() const { return close_reason_; }
  // True once the server closed the TCP connection (read returned end of stream or reset).
  bool eof() const { return eof_; }

  struct Impl;

 private:
  explicit RawWsClient(std::unique_ptr<Impl> impl);
  // Reads more bytes into the buffer; false on timeout or end of stream.
  bool read_more(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<Impl> impl_;
  std::string buffer_;  // received bytes not yet parsed into frames
  std::string close_reason_;
  bool eof_ = false;
};

}  // namespace newspush::test

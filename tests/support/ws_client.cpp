#include "tests/support/ws_client.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <stdexcept>
#include <utility>

namespace newspush::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// Runs `ioc` until `*done` or the deadline. The io_context only runs inside these calls, so
// every handler executes on the test thread.
bool run_until(asio::io_context& ioc, const bool* done, Clock::time_point deadline) {
  while (!*done) {
    if (ioc.stopped()) ioc.restart();
    if (Clock::now() >= deadline) return false;
    ioc.run_one_until(deadline);
  }
  return true;
}

std::chrono::milliseconds time_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

tcp::endpoint resolve_one(asio::io_context& ioc, const std::string& host, std::uint16_t port) {
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) return {address, port};
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) {
    throw std::runtime_error("cannot resolve " + host + ": " + ec.message());
  }
  return results.begin()->endpoint();
}

// Connects `socket` (opened here so options apply before the SYN) within the deadline.
void connect_socket(asio::io_context& ioc, tcp::socket& socket, const tcp::endpoint& endpoint,
                    int receive_buffer_bytes, Clock::time_point deadline) {
  socket.open(endpoint.protocol());
  if (receive_buffer_bytes > 0) {
    socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes));
  }
  bool done = false;
  error_code result;
  socket.async_connect(endpoint, [&](error_code ec) {
    result = ec;
    done = true;
  });
  if (!run_until(ioc, &done, deadline)) {
    error_code ignored;
    socket.close(ignored);
    run_until(ioc, &done, Clock::now() + std::chrono::seconds(5));
    throw std::runtime_error("connect to " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + " timed out");
  }
  if (result) {
    throw std::runtime_error("connect to " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + " failed: " + result.message());
  }
  socket.set_option(tcp::no_delay(true));
}

// The code of the server's close frame; an empty close payload means "no status received"
// (RFC 6455 section 7.1.5).
std::uint16_t received_close_code(const websocket::stream<beast::tcp_stream>& ws) {
  const auto code = static_cast<std::uint16_t>(ws.reason().code);
  return code == 0 ? std::uint16_t{1005} : code;
}

// Removes and returns the first whole frame at the front of `buffer`; nullopt if incomplete.
std::optional<RawFrame> take_frame(std::string& buffer) {
  if (buffer.size() < 2) return std::nullopt;
  const auto b0 = static_cast<unsigned char>(buffer[0]);
  const auto b1 = static_cast<unsigned char>(buffer[1]);
  std::size_t offset = 2;
  std::uint64_t length = b1 & 0x7F;
  const std::size_t extra = length == 126 ? 2 : length == 127 ? 8 : 0;
  const bool masked = (b1 & 0x80) != 0;
  if (buffer.size() < offset + extra + (masked ? 4 : 0)) return std::nullopt;
  if (extra > 0) {
    length = 0;
    for (std::size_t i = 0; i < extra; ++i) {
      length = (length << 8) | static_cast<unsigned char>(buffer[offset + i]);
    }
    offset += extra;
  }
  std::array<unsigned char, 4> key{};
  if (masked) {
    for (std::size_t i = 0; i < 4; ++i) key[i] = static_cast<unsigned char>(buffer[offset + i]);
    offset += 4;
  }
  if (buffer.size() - offset < length) return std::nullopt;
  RawFrame frame;
  frame.fin = (b0 & 0x80) != 0;
  frame.opcode = b0 & 0x0F;
  frame.payload = buffer.substr(offset, static_cast<std::size_t>(length));
  if (masked) {
    for (std::size_t i = 0; i < frame.payload.size(); ++i) {
      frame.payload[i] =
          static_cast<char>(static_cast<unsigned char>(frame.payload[i]) ^ key[i % 4]);
    }
  }
  buffer.erase(0, offset + static_cast<std::size_t>(length));
  return frame;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// WsClient

struct WsClient::Impl {
  // Declared first so it is destroyed last, after the stream whose pending handlers it holds.
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer read_buffer;
  bool read_pending = false;
  bool write_failed = false;  // reads are then done by salvage_close_frame()
};

WsClient::WsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsClient::~WsClient() {
  // Short bound: a test may drop a client whose server no longer reads.
  if (!closed_) {
    bool done = false;
    impl_->ws.async_close(websocket::close_code::normal, [&](error_code) { done = true; });
    if (!run_until(impl_->ioc, &done, Clock::now() + std::chrono::milliseconds(500))) {
      error_code ignored;
      beast::get_lowest_layer(impl_->ws).socket().close(ignored);
    }
  }
}

std::unique_ptr<WsClient> WsClient::connect(std::uint16_t port, std::string path,
                                            std::chrono::milliseconds timeout) {
  WsClientOptions options;
  options.port = port;
  options.path = std::move(path);
  options.connect_timeout = timeout;
  return connect(options);
}

std::unique_ptr<WsClient> WsClient::connect(const WsClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  const auto deadline = Clock::now() + options.connect_timeout;
  const auto endpoint = resolve_one(impl->ioc, options.host, options.port);
  connect_socket(impl->ioc, beast::get_lowest_layer(impl->ws).socket(), endpoint,
                 options.receive_buffer_bytes, deadline);

  auto& ws = impl->ws;
  ws.auto_fragment(options.auto_fragment);
  ws.read_message_max(64 * 1024 * 1024);
  ws.set_option(websocket::stream_base::decorator([headers = options.headers](auto& request) {
    request.set(beast::http::field::user_agent, "newspush-test-client");
    for (const auto& [name, value] : headers) request.set(name, value);
  }));

  websocket::response_type response;
  bool done = false;
  error_code result;
  const std::string host_header = options.host + ":" + std::to_string(options.port);
  ws.async_handshake(response, host_header, options.path, [&](error_code ec) {
    result = ec;
    done = true;
  });
  if (!run_until(impl->ioc, &done, deadline)) {
    error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    run_until(impl->ioc, &done, Clock::now() + std::chrono::seconds(5));
    throw std::runtime_error("websocket upgrade of " + options.path + " timed out");
  }
  if (result) {
    std::string message = "websocket upgrade of " + options.path + " failed: " + result.message();
    if (result == websocket::error::upgrade_declined) {
      message += " (HTTP " + std::to_string(response.result_int()) + ": " + response.body() + ")";
    }
    throw std::runtime_error(message);
  }
  return std::unique_ptr<WsClient>(new WsClient(std::move(impl)));
}

bool WsClient::send(std::string_view payload, bool binary, std::chrono::milliseconds timeout,
                    std::string* error) {
  if (closed_) {
    *error = "connection already closed";
    return false;
  }
  auto& ws = impl_->ws;
  ws.binary(binary);
  bool done = false;
  error_code result;
  ws.async_write(asio::buffer(payload.data(), payload.size()), [&](error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!run_until(impl_->ioc, &done, Clock::now() + timeout)) {
    // A write cut short leaves the stream mid-frame: the connection is unusable from here on.
    error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    run_until(impl_->ioc, &done, Clock::now() + std::chrono::seconds(5));
    *error = "write did not finish in time";
    return false;
  }
  if (result) {
    *error = result.message();
    salvage_close_frame(result.message());
    return false;
  }
  return true;
}

void WsClient::salvage_close_frame(const std::string& write_error) {
  // After a failed write Beast fails every read, yet the server usually sent a close frame
  // (e.g. 1009 for a frame over its limit) before it stopped reading: find it in the raw bytes.
  auto& impl = *impl_;
  auto& socket = beast::get_lowest_layer(impl.ws).socket();
  impl.write_failed = true;
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  if (impl.read_pending) {
    error_code ignored;
    socket.cancel(ignored);
    while (impl.read_pending && Clock::now() < deadline) {
      if (impl.ioc.stopped()) impl.ioc.restart();
      impl.ioc.run_one_until(deadline);
    }
  }
  if (closed_) return;
  // Beast may hold part of the stream in its buffer already; the raw bytes start after it, so a
  // frame boundary is assumed at the start and parsing stops at the first implausible header.
  std::string bytes;
  std::array<char, 16 * 1024> chunk;
  bool garbled = false;
  while (!closed_ && !garbled) {
    while (auto frame = take_frame(bytes)) {
      if (frame->opcode > 2 && (frame->opcode < 8 || frame->opcode > 10)) {
        garbled = true;
        break;
      }
      if (frame->opcode == RawWsClient::kClose) {
        on_read_done("write failed: " + write_error, frame->close_code().value_or(1005),
                     frame->close_reason());
        break;
      }
    }
    if (closed_ || garbled) break;
    bool done = false;
    std::size_t received = 0;
    socket.async_read_some(asio::buffer(chunk), [&](error_code, std::size_t n) {
      received = n;
      done = true;
    });
    if (!run_until(impl.ioc, &done, deadline)) {
      error_code ignored;
      socket.cancel(ignored);
      run_until(impl.ioc, &done, Clock::now() + std::chrono::seconds(2));
    }
    bytes.append(chunk.data(), received);
    if (received == 0) break;
  }
  if (!closed_) on_read_done("write failed: " + write_error, std::nullopt, {});
}

void WsClient::send_text(std::string_view payload, std::chrono::milliseconds timeout) {
  std::string error;
  if (!send(payload, false, timeout, &error)) throw std::runtime_error("send_text: " + error);
}

void WsClient::send_binary(std::string_view payload, std::chrono::milliseconds timeout) {
  std::string error;
  if (!send(payload, true, timeout, &error)) throw std::runtime_error("send_binary: " + error);
}

bool WsClient::try_send_text(std::string_view payload, std::chrono::milliseconds timeout) {
  std::string error;
  return send(payload, false, timeout, &error);
}

bool WsClient::try_send_binary(std::string_view payload, std::chrono::milliseconds timeout) {
  std::string error;
  return send(payload, true, timeout, &error);
}

void WsClient::on_read_done(const std::string& error, std::optional<std::uint16_t> code,
                            std::string reason) {
  closed_ = true;
  read_error_ = error;
  close_code_ = code;
  close_reason_ = std::move(reason);
}

bool WsClient::fill_frames(Clock::time_point deadline) {
  auto& impl = *impl_;
  while (frames_.empty() && !closed_) {
    if (reading_stopped_) return false;
    if (!impl.read_pending) {
      impl.read_pending = true;
      // One read stays outstanding across calls: a timed-out wait leaves it pending and the next
      // call resumes it, so no frame is ever lost to a cancellation.
      impl.ws.async_read(impl.read_buffer, [this](error_code ec, std::size_t) {
        impl_->read_pending = false;
        if (ec && impl_->write_failed) return;  // salvage_close_frame() decides
        if (!ec) {
          frames_.push_back(beast::buffers_to_string(impl_->read_buffer.data()));
          impl_->read_buffer.consume(impl_->read_buffer.size());
          ++frames_received_;
          bytes_received_ += frames_.back().size();
          return;
        }
        // Beast records the close frame even when the error is another one (e.g. the teardown
        // after our close reply failed because the server had already gone).
        const auto& reason = impl_->ws.reason();
        if (ec == websocket::error::closed || reason.code != websocket::close_code::none) {
          on_read_done(ec.message(), received_close_code(impl_->ws),
                       std::string(reason.reason.data(), reason.reason.size()));
        } else {
          on_read_done(ec.message(), std::nullopt, {});
        }
      });
    }
    if (impl.ioc.stopped()) impl.ioc.restart();
    if (Clock::now() >= deadline) {
      // Out of time (or a zero timeout): still take whatever is ready without blocking.
      while (frames_.empty() && !closed_ && impl.ioc.poll() > 0) {
      }
      break;
    }
    impl.ioc.run_one_until(deadline);
  }
  return !frames_.empty();
}

std::optional<std::string> WsClient::read_raw_frame(std::chrono::milliseconds timeout) {
  if (!fill_frames(Clock::now() + timeout)) return std::nullopt;
  std::string frame = std::move(frames_.front());
  frames_.pop_front();
  return frame;
}

std::optional<nlohmann::json> WsClient::next_event(std::chrono::milliseconds timeout) {
  if (!stashed_.empty()) {
    auto event = std::move(stashed_.front());
    stashed_.pop_front();
    return event;
  }
  const auto deadline = Clock::now() + timeout;
  while (lines_.empty()) {
    if (!fill_frames(deadline)) return std::nullopt;
    std::string frame = std::move(frames_.front());
    frames_.pop_front();
    std::size_t start = 0;
    while (start <= frame.size()) {
      auto end = frame.find('\n', start);
      if (end == std::string::npos) end = frame.size();
      if (end > start) lines_.push_back(frame.substr(start, end - start));
      start = end + 1;
    }
  }
  std::string line = std::move(lines_.front());
  lines_.pop_front();
  auto event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (event.is_discarded()) {
    throw std::runtime_error("server sent a line that is not JSON: " + line.substr(0, 200));
  }
  return event;
}

std::optional<nlohmann::json> WsClient::next_event_of_type(std::string_view type,
                                                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto remaining = time_left(deadline);
    auto event = next_event(remaining);
    if (!event) return std::nullopt;
    if (event->is_object() && event->value("type", "") == type) return event;
  }
}

std::vector<nlohmann::json> WsClient::collect_articles(std::size_t n,
                                                       std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<nlohmann::json> articles;
  while (articles.size() < n) {
    const auto remaining = time_left(deadline);
    auto event = next_event_of_type("article", remaining);
    if (!event) break;
    articles.push_back(std::move(*event));
  }
  return articles;
}

std::optional<nlohmann::json> WsClient::subscribe(const std::vector<std::string>& categories,
                                                  std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  nlohmann::json command = {{"op", "subscribe"}, {"categories", categories}};
  send_text(command.dump(), timeout);
  std::deque<nlohmann::json> skipped;
  std::optional<nlohmann::json> answer;
  while (true) {
    const auto remaining = time_left(deadline);
    auto event = next_event(remaining);
    if (!event) break;
    const auto type = event->is_object() ? event->value("type", "") : std::string();
    if (type == "subscribed" || type == "error") {
      answer = std::move(event);
      break;
    }
    skipped.push_back(std::move(*event));
  }
  // Keep the skipped events (e.g. "welcome", articles) in arrival order, ahead of what is left.
  for (auto it = skipped.rbegin(); it != skipped.rend(); ++it) stashed_.push_front(std::move(*it));
  return answer;
}

bool WsClient::no_event_within(std::chrono::milliseconds quiet) {
  if (!stashed_.empty() || !lines_.empty() || !frames_.empty()) return false;
  return !fill_frames(Clock::now() + quiet);
}

bool WsClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const bool was_stopped = reading_stopped_;
  reading_stopped_ = false;
  while (!closed_) {
    if (!fill_frames(deadline)) break;
    frames_.clear();
  }
  reading_stopped_ = was_stopped;
  return closed_;
}

void WsClient::close() {
  if (closed_) return;
  bool done = false;
  impl_->ws.async_close(websocket::close_code::normal, [&](error_code) { done = true; });
  if (!run_until(impl_->ioc, &done, Clock::now() + std::chrono::seconds(2))) {
    error_code ignored;
    beast::get_lowest_layer(impl_->ws).socket().close(ignored);
    run_until(impl_->ioc, &done, Clock::now() + std::chrono::seconds(2));
  }
  closed_ = true;
  if (read_error_.empty()) read_error_ = "closed by the client";
  const auto& reason = impl_->ws.reason();
  if (!close_code_ && reason.code != websocket::close_code::none) {
    close_code_ = received_close_code(impl_->ws);
    close_reason_ = std::string(reason.reason.data(), reason.reason.size());
  }
}

// ---------------------------------------------------------------------------------------------
// RawWsClient

std::optional<std::uint16_t> RawFrame::close_code() const {
  if (payload.size() < 2) return std::nullopt;
  return static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                    static_cast<unsigned char>(payload[1]));
}

std::string RawFrame::close_reason() const {
  return payload.size() > 2 ? payload.substr(2) : std::string();
}

struct RawWsClient::Impl {
  asio::io_context ioc;
  tcp::socket socket{ioc};
};

RawWsClient::RawWsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RawWsClient::~RawWsClient() = default;

std::unique_ptr<RawWsClient> RawWsClient::connect(std::uint16_t port, std::string path,
                                                  std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto impl = std::make_unique<Impl>();
  connect_socket(impl->ioc, impl->socket, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                 0, deadline);
  std::unique_ptr<RawWsClient> client(new RawWsClient(std::move(impl)));
  // The key is the RFC 6455 sample nonce: the server only has to echo its hash.
  const std::string request = "GET " + path +
                              " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
  if (!client->send_bytes(request, timeout)) {
    throw std::runtime_error("raw websocket: sending the upgrade request failed");
  }
  std::size_t header_end;
  while ((header_end = client->buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!client->read_more(deadline)) {
      throw std::runtime_error("raw websocket: no complete upgrade response (got: " +
                               client->buffer_.substr(0, 200) + ")");
    }
  }
  const std::string head = client->buffer_.substr(0, header_end);
  if (head.rfind("HTTP/1.1 101", 0) != 0) {
    throw std::runtime_error("raw websocket: upgrade refused: " + head.substr(0, head.find('\r')));
  }
  client->buffer_.erase(0, header_end + 4);
  return client;
}

bool RawWsClient::send_bytes(std::string_view bytes, std::chrono::milliseconds timeout) {
  bool done = false;
  error_code result;
  asio::async_write(impl_->socket, asio::buffer(bytes.data(), bytes.size()),
                    [&](error_code ec, std::size_t) {
                      result = ec;
                      done = true;
                    });
  if (!run_until(impl_->ioc, &done, Clock::now() + timeout)) {
    error_code ignored;
    impl_->socket.cancel(ignored);
    run_until(impl_->ioc, &done, Clock::now() + std::chrono::seconds(5));
    return false;
  }
  return !result;
}

namespace {

std::string frame_header(std::uint8_t opcode, std::uint64_t length, bool fin, bool masked) {
  std::string header;
  header.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0F)));
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (length < 126) {
    header.push_back(static_cast<char>(mask_bit | static_cast<char>(length)));
  } else if (length <= 0xFFFF) {
    header.push_back(static_cast<char>(mask_bit | 126));
    header.push_back(static_cast<char>((length >> 8) & 0xFF));
    header.push_back(static_cast<char>(length & 0xFF));
  } else {
    header.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      header.push_back(static_cast<char>((length >> shift) & 0xFF));
    }
  }
  return header;
}

constexpr std::array<unsigned char, 4> kMaskKey = {0x37, 0xFA, 0x21, 0x3D};

}  // namespace

bool RawWsClient::send_frame(std::uint8_t opcode, std::string_view payload, bool fin, bool masked,
                             std::chrono::milliseconds timeout) {
  std::string frame = frame_header(opcode, payload.size(), fin, masked);
  if (masked) {
    frame.append(reinterpret_cast<const char*>(kMaskKey.data()), kMaskKey.size());
    for (std::size_t i = 0; i < payload.size(); ++i) {
      frame.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ kMaskKey[i % 4]));
    }
  } else {
    frame.append(payload);
  }
  return send_bytes(frame, timeout);
}

bool RawWsClient::send_frame_header(std::uint8_t opcode, std::uint64_t announced_length, bool fin,
                                    std::chrono::milliseconds timeout) {
  std::string header = frame_header(opcode, announced_length, fin, true);
  header.append(reinterpret_cast<const char*>(kMaskKey.data()), kMaskKey.size());
  return send_bytes(header, timeout);
}

bool RawWsClient::read_more(Clock::time_point deadline) {
  if (eof_) return false;
  std::array<char, 16 * 1024> chunk;
  bool done = false;
  error_code result;
  std::size_t received = 0;
  impl_->socket.async_read_some(asio::buffer(chunk), [&](error_code ec, std::size_t n) {
    result = ec;
    received = n;
    done = true;
  });
  if (!run_until(impl_->ioc, &done, deadline)) {
    error_code ignored;
    impl_->socket.cancel(ignored);
    run_until(impl_->ioc, &done, Clock::now() + std::chrono::seconds(5));
  }
  // A cancelled read may still have completed with data just before the cancel.
  buffer_.append(chunk.data(), received);
  if (result && result != asio::error::operation_aborted) eof_ = true;
  return received > 0;
}

std::optional<RawFrame> RawWsClient::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto frame = take_frame(buffer_)) return frame;
    if (!read_more(deadline)) return std::nullopt;
  }
}

std::optional<std::uint16_t> RawWsClient::read_close_code(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto remaining = time_left(deadline);
    if (remaining.count() == 0) return std::nullopt;
    auto frame = read_frame(remaining);
    if (!frame) return std::nullopt;
    if (frame->opcode == kClose) {
      close_reason_ = frame->close_reason();
      return frame->close_code().value_or(1005);
    }
  }
}

}  // namespace newspush::test

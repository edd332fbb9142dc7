#include "tests/support/tls_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <charconv>
#include <stdexcept>

namespace newspush::test {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// Runs `ioc` until `*done` or the deadline; the io_context only runs inside these calls.
bool run_until(asio::io_context& ioc, const bool* done, Clock::time_point deadline) {
  while (!*done) {
    if (ioc.stopped()) ioc.restart();
    if (Clock::now() >= deadline) return false;
    ioc.run_one_until(deadline);
  }
  return true;
}

ssl::context make_context(const TlsClientOptions& options) {
  ssl::context context(ssl::context::tls_client);
  SSL_CTX* handle = context.native_handle();
  if (options.max_version != 0) {
    SSL_CTX_set_max_proto_version(handle, options.max_version);
    SSL_CTX_set_min_proto_version(handle, options.max_version);
    // OpenSSL 3 refuses to offer TLS 1.0/1.1 at its default security level: a test that wants
    // to see the server refuse them must be able to offer them.
    SSL_CTX_set_security_level(handle, 0);
  }
  if (!options.ca_file.empty()) {
    context.load_verify_file(options.ca_file);
    context.set_verify_mode(ssl::verify_peer);
  } else {
    context.set_verify_mode(ssl::verify_none);
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const auto& protocol : options.alpn) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire += protocol;
    }
    SSL_CTX_set_alpn_protos(handle, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  return context;
}

void prepare(SSL* ssl, const TlsClientOptions& options) {
  SSL_set_tlsext_host_name(ssl, options.server_name.c_str());
  if (!options.ca_file.empty()) SSL_set1_host(ssl, options.server_name.c_str());
}

TlsSessionInfo describe(SSL* ssl) {
  TlsSessionInfo info;
  info.version = SSL_get_version(ssl);
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  if (alpn) info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  if (X509* certificate = SSL_get1_peer_certificate(ssl)) {
    BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get_serialNumber(certificate), nullptr);
    char* hex = BN_bn2hex(serial);
    info.serial = hex;
    OPENSSL_free(hex);
    BN_free(serial);
    X509_free(certificate);
  }
  return info;
}

void connect_tcp(asio::io_context& ioc, tcp::socket& socket, std::uint16_t port,
                 Clock::time_point deadline) {
  bool done = false;
  error_code result;
  socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](error_code ec) {
    result = ec;
    done = true;
  });
  if (!run_until(ioc, &done, deadline)) throw std::runtime_error("TLS client: connect timed out");
  if (result) throw std::runtime_error("TLS client: connect failed: " + result.message());
}

// What a balancer puts first on the connection, before any TLS.
void send_preamble(tcp::socket& socket, const TlsClientOptions& options) {
  if (options.preamble.empty()) return;
  error_code ec;
  asio::write(socket, asio::buffer(options.preamble), ec);
  if (ec) throw std::runtime_error("TLS client: sending the preamble failed: " + ec.message());
}

template <typename Stream>
void handshake(asio::io_context& ioc, Stream& stream, Clock::time_point deadline) {
  bool done = false;
  error_code result;
  stream.async_handshake(ssl::stream_base::client, [&](error_code ec) {
    result = ec;
    done = true;
  });
  if (!run_until(ioc, &done, deadline)) {
    error_code ignored;
    beast::get_lowest_layer(stream).close(ignored);
    run_until(ioc, &done, Clock::now() + std::chrono::seconds(2));
    throw std::runtime_error("TLS handshake timed out");
  }
  if (result) throw std::runtime_error("TLS handshake failed: " + result.message());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TlsConnection

struct TlsConnection::Impl {
  explicit Impl(const TlsClientOptions& options) : context(make_context(options)) {}
  asio::io_context ioc;
  ssl::context context;
  ssl::stream<tcp::socket> stream{ioc, context};
  bool read_pending = false;
  std::array<char, 16 * 1024> chunk{};
  long last_read = 0;
};

TlsConnection::TlsConnection(std::uint16_t port, const TlsClientOptions& options,
                             std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(options)) {
  const auto deadline = Clock::now() + timeout;
  connect_tcp(impl_->ioc, impl_->stream.next_layer(), port, deadline);
  send_preamble(impl_->stream.next_layer(), options);
  prepare(impl_->stream.native_handle(), options);
  handshake(impl_->ioc, impl_->stream, deadline);
  info_ = describe(impl_->stream.native_handle());
}

TlsConnection::~TlsConnection() = default;

bool TlsConnection::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  bool done = false;
  error_code result;
  asio::async_write(impl_->stream, asio::buffer(bytes.data(), bytes.size()),
                    [&](error_code ec, std::size_t) {
                      result = ec;
                      done = true;
                    });
  if (!run_until(impl_->ioc, &done, Clock::now() + timeout)) {
    error_code ignored;
    impl_->stream.next_layer().close(ignored);
    run_until(impl_->ioc, &done, Clock::now() + std::chrono::seconds(2));
    return false;
  }
  return !result;
}

long TlsConnection::read_some(Clock::time_point deadline) {
  auto& impl = *impl_;
  bool done = !impl.read_pending;
  if (!impl.read_pending) {
    // One read stays outstanding across calls: a timed-out wait resumes it next time, as
    // cancelling a TLS read would leave the stream unusable.
    impl.read_pending = true;
    done = false;
    impl.stream.async_read_some(asio::buffer(impl.chunk), [this](error_code ec, std::size_t n) {
      impl_->read_pending = false;
      // A server that closes without close_notify ends the stream too.
      impl_->last_read = !ec ? static_cast<long>(n)
                             : (ec == asio::error::eof || ec == ssl::error::stream_truncated) ? 0
                                                                                                : -1;
      if (n > 0) received_.append(impl_->chunk.data(), n);
    });
  }
  while (impl.read_pending) {
    if (impl.ioc.stopped()) impl.ioc.restart();
    if (Clock::now() >= deadline) return -1;
    impl.ioc.run_one_until(deadline);
  }
  (void)done;
  return impl.last_read;
}

std::optional<HttpResponse> https_request(std::uint16_t port, const TlsClientOptions& options,
                                          const std::string& method, const std::string& target,
                                          std::chrono::milliseconds timeout, TlsSessionInfo* info) {
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<TlsConnection> connection;
  try {
    connection = std::make_unique<TlsConnection>(port, options, timeout);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  if (info) *info = connection->info();
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + options.server_name +
                        "\r\nUser-Agent: newspush-test-client\r\nConnection: close\r\n\r\n";
  if (!connection->send(request, timeout)) return std::nullopt;
  // Connection: close: the answer ends where the stream does.
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    long n = connection->read_more(left);
    if (n == 0) break;
    if (n < 0) return std::nullopt;
  }
  const std::string& raw = connection->received();
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  HttpResponse response;
  auto space = raw.find(' ');
  std::from_chars(raw.data() + space + 1, raw.data() + raw.size(), response.status);
  for (std::size_t at = raw.find("\r\n"); at < head_end;) {
    auto end = raw.find("\r\n", at + 2);
    std::string line = raw.substr(at + 2, end - at - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      response.headers.emplace_back(line.substr(0, colon), value);
    }
    at = end;
  }
  response.content_type = response.header("Content-Type").value_or("");
  response.body = raw.substr(head_end + 4);
  return response;
}

// ---------------------------------------------------------------------------------------------
// TlsWsClient

struct TlsWsClient::Impl {
  explicit Impl(const TlsClientOptions& options) : context(make_context(options)) {}
  asio::io_context ioc;
  ssl::context context;
  websocket::stream<ssl::stream<tcp::socket>> ws{ioc, context};
  beast::flat_buffer buffer;
  bool read_pending = false;
};

TlsWsClient::TlsWsClient(std::uint16_t port, const TlsClientOptions& options,
                         const std::string& path, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(options)) {
  const auto deadline = Clock::now() + timeout;
  auto& ws = impl_->ws;
  connect_tcp(impl_->ioc, beast::get_lowest_layer(ws), port, deadline);
  send_preamble(beast::get_lowest_layer(ws), options);
  prepare(ws.next_layer().native_handle(), options);
  handshake(impl_->ioc, ws.next_layer(), deadline);
  info_ = describe(ws.next_layer().native_handle());
  bool done = false;
  error_code result;
  ws.async_handshake(options.server_name, path, [&](error_code ec) {
    result = ec;
    done = true;
  });
  if (!run_until(impl_->ioc, &done, deadline)) throw std::runtime_error("wss upgrade timed out");
  if (result) throw std::runtime_error("wss upgrade failed: " + result.message());
}

TlsWsClient::~TlsWsClient() {
  if (closed_) return;
  error_code ignored;
  beast::get_lowest_layer(impl_->ws).close(ignored);
  bool done = !impl_->read_pending;
  // Let a pending read see the close before the io_context goes.
  while (impl_->read_pending && !done) {
    if (impl_->ioc.stopped()) impl_->ioc.restart();
    if (impl_->ioc.run_one_for(std::chrono::seconds(2)) == 0) break;
  }
}

std::optional<nlohmann::json> TlsWsClient::next_event(Clock::time_point deadline) {
  auto& impl = *impl_;
  while (lines_.empty()) {
    if (closed_) return std::nullopt;
    if (!impl.read_pending) {
      impl.read_pending = true;
      impl.ws.async_read(impl.buffer, [this](error_code ec, std::size_t) {
        impl_->read_pending = false;
        if (ec) {
          closed_ = true;
          if (impl_->ws.reason().code != websocket::close_code::none)
            close_code_ = static_cast<std::uint16_t>(impl_->ws.reason().code);
          return;
        }
        std::string frame = beast::buffers_to_string(impl_->buffer.data());
        impl_->buffer.consume(impl_->buffer.size());
        std::size_t start = 0;
        while (start <= frame.size()) {
          auto end = frame.find('\n', start);
          if (end == std::string::npos) end = frame.size();
          if (end > start) lines_.push_back(frame.substr(start, end - start));
          start = end + 1;
        }
      });
    }
    while (impl.read_pending) {
      if (impl.ioc.stopped()) impl.ioc.restart();
      if (Clock::now() >= deadline) return std::nullopt;
      impl.ioc.run_one_until(deadline);
    }
  }
  std::string line = std::move(lines_.front());
  lines_.erase(lines_.begin());
  return nlohmann::json::parse(line);
}

std::optional<nlohmann::json> TlsWsClient::next_event_of_type(std::string_view type,
                                                              std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto event = next_event(deadline))
    if (event->value("type", "") == type) return event;
  return std::nullopt;
}

std::optional<nlohmann::json> TlsWsClient::subscribe(const std::vector<std::string>& categories,
                                                     std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string command = nlohmann::json({{"op", "subscribe"}, {"categories", categories}}).dump();
  bool done = false;
  error_code result;
  impl_->ws.text(true);
  impl_->ws.async_write(asio::buffer(command), [&](error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!run_until(impl_->ioc, &done, deadline) || result) return std::nullopt;
  return next_event_of_type("subscribed", std::chrono::duration_cast<std::chrono::milliseconds>(
                                              deadline - Clock::now()));
}

}  // namespace newspush::test

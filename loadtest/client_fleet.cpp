// The only translation unit that instantiates Beast: one Client class per connection, WebSocket
// or Server-Sent Events.
#include "loadtest/client_fleet.hpp"

#include "loadtest/frame_reader.hpp"
#include "loadtest/sse_reader.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace newspush::loadtest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using beast::error_code;
using Clock = std::chrono::steady_clock;
using TlsStream = asio::ssl::stream<beast::tcp_stream>;

void IntervalTotals::add(const IntervalTotals& other) {
  deliveries += other.deliveries;
  unique += other.unique;
  duplicates += other.duplicates;
  out_of_order += other.out_of_order;
  bytes += other.bytes;
  frames += other.frames;
  latency.merge(other.latency);
}

namespace {

// Owned by one I/O thread's clients; the main thread takes it once a second.
struct ThreadTotals {
  std::mutex mutex;
  IntervalTotals interval;
};

struct StreamTrack {
  std::uint64_t next_seq = 0;
  std::uint64_t unique = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t out_of_order = 0;
  bool seen = false;
};

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxResponseHead = 16 * 1024;

// The string value of "key" in a one-line JSON object we produced or the server did (no escapes
// expected in it); empty when absent.
std::string_view json_string_field(std::string_view json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\":\"";
  const auto at = json.find(quoted);
  if (at == std::string_view::npos) return {};
  const auto begin = at + quoted.size();
  const auto end = json.find('"', begin);
  if (end == std::string_view::npos) return {};
  return json.substr(begin, end - begin);
}

std::string label_of(const error_code& ec, const websocket::close_reason& reason) {
  if (ec == websocket::error::closed) return std::to_string(reason.code);
  if (ec == asio::error::eof || ec == beast::http::error::end_of_stream) return "eof";
  if (ec == asio::error::connection_reset) return "reset";
  if (ec == beast::error::timeout) return "timeout";
  return ec.message();
}

}  // namespace

class Client;

struct ClientFleet::Impl {
  FleetSettings settings;
  tcp::endpoint server;
  std::optional<asio::ssl::context> tls_context;  // settings.tls: shared by every client
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::unique_ptr<ThreadTotals>> totals;
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<Client>> clients;
  std::optional<asio::steady_timer> launcher;
  Clock::time_point launch_start;
  std::size_t launched = 0;
  std::atomic<bool> stopping{false};

  std::atomic<std::uint64_t> attempts{0}, subscribed_now{0}, connect_failures{0}, closes{0},
      resubscribed{0};
  mutable std::mutex shared_mutex;  // guards the fields below (rare events only)
  std::map<std::string, std::uint64_t> connect_errors;
  LatencyHistogram connect_latency;
  LatencyHistogram outage;

  void launch_due();
  void note_connect_error(const std::string& label) {
    std::lock_guard lock(shared_mutex);
    ++connect_errors[label];
  }
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& context, ClientFleet::Impl& fleet, ThreadTotals& totals,
         tcp::endpoint source, std::vector<unsigned> streams, bool slow)
      : context_(context),
        fleet_(fleet),
        totals_(totals),
        source_(source),
        streams_(std::move(streams)),
        slow_(slow) {
    if (fleet_.settings.nchan) {
      handshake_target_ = fleet_.settings.target;  // the channels ride in the path
      for (unsigned stream : streams_) {
        if (handshake_target_.back() != '/') handshake_target_ += ',';
        handshake_target_ += stream_name(stream);
      }
      return;
    }
    if (fleet_.settings.sse) {
      std::string categories;
      for (unsigned stream : streams_) {
        if (stream == kBreakingStream) continue;  // breaking articles come to every stream
        if (!categories.empty()) categories += ',';
        categories += kCategories[stream];
      }
      const auto& target = fleet_.settings.target;
      sse_request_ = "GET " + target + (target.find('?') == std::string::npos ? "?" : "&") +
                     "categories=" + categories + " HTTP/1.1\r\nHost: " + fleet_.settings.host +
                     ":" + std::to_string(fleet_.settings.port) +
                     "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n"
                     "User-Agent: newspush-loadtest\r\n\r\n";
      return;
    }
    handshake_target_ = fleet_.settings.target;
    subscribe_command_ = "{\"op\":\"subscribe\",\"categories\":[";
    for (unsigned stream : streams_) {
      if (stream == kBreakingStream) continue;
      if (subscribe_command_.back() != '[') subscribe_command_ += ',';
      subscribe_command_ += "\"" + std::string(kCategories[stream]) + "\"";
    }
    subscribe_command_ += "]}";
  }

  void connect() {
    ++fleet_.attempts;
    attempt_started_ = Clock::now();
    // A fresh stream per attempt (TLS state cannot be reused after a close).
    ws_.reset();
    wss_.reset();
    http_.reset();
    https_.reset();
    if (fleet_.settings.sse) {
      if (fleet_.settings.tls)
        https_.emplace(context_, *fleet_.tls_context);
      else
        http_.emplace(context_);
      head_done_ = false;
      sse_.restart();
    } else if (fleet_.settings.tls) {
      wss_.emplace(context_, *fleet_.tls_context);
    } else {
      ws_.emplace(context_);
    }
    if (fleet_.settings.tls && !prepare_tls(tls_layer())) return;
    buffer_.clear();
    auto& socket = stream().socket();
    error_code ec;
    socket.open(tcp::v4(), ec);
    if (!ec) {
      // Spreads clients over several source addresses; the port is chosen at connect time so
      // each source address gets its own ~28k ephemeral ports per destination.
      const int one = 1;
      setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      // A small receive window makes a slow client's backlog pile up on the server quickly.
      if (slow_) socket.set_option(asio::socket_base::receive_buffer_size(4096), ec);
      socket.bind(tcp::endpoint(source_.address(), 0), ec);
    }
    if (ec) return on_failure("connect: " + ec.message());
    // SSE: the same deadline covers the connect, the request and the response head.
    stream().expires_after(std::chrono::seconds(10));
    stream().async_connect(fleet_.server,
                           beast::bind_front_handler(&Client::on_connect, shared_from_this()));
  }

  void resume_reading() {
    asio::post(context_, [self = shared_from_this()] {
      self->paused_ = false;
      if (!self->ws_ && !self->wss_ && !self->http_ && !self->https_) return;
      auto& socket = self->stream().socket();
      error_code ignored;  // a normal window again, so the backlog drains quickly
      socket.set_option(asio::socket_base::receive_buffer_size(1 << 20), ignored);
      if (self->reading_ || !socket.is_open()) return;
      if (self->fleet_.settings.sse)
        self->sse_read();
      else
        self->read();
    });
  }

  bool is_slow() const { return slow_; }
  bool is_subscribed() const { return subscribed_.load(std::memory_order_relaxed); }
  bool ever_subscribed() const { return ever_subscribed_; }
  const std::vector<unsigned>& streams() const { return streams_; }
  const StreamTrack& track(unsigned stream) const { return tracks_[stream]; }
  const std::string& end_label() const { return end_label_; }

 private:
  // The TCP stream under either transport, with or without TLS.
  beast::tcp_stream& stream() {
    if (ws_) return beast::get_lowest_layer(*ws_);
    if (wss_) return beast::get_lowest_layer(*wss_);
    if (https_) return https_->next_layer();
    return *http_;
  }

  TlsStream& tls_layer() { return wss_ ? wss_->next_layer() : *https_; }

  // SNI carries the host as given, unless it is numeric (RFC 6066 names only); with --tls-ca the
  // certificate must name the host (DNS name or IP address).
  bool prepare_tls(TlsStream& tls) {
    const auto& host = fleet_.settings.host;
    error_code ec;
    asio::ip::make_address(host, ec);
    if (ec && !SSL_set_tlsext_host_name(tls.native_handle(), host.c_str())) {
      on_failure("tls: cannot set the server name");
      return false;
    }
    if (!fleet_.settings.tls_ca.empty())
      tls.set_verify_callback(asio::ssl::host_name_verification(host));
    return true;
  }

  void on_connect(error_code ec) {
    if (ec) return on_failure("connect: " + ec.message());
    if (!fleet_.settings.tls) return on_transport_ready();
    // Under the connect's deadline, which the tcp_stream below the TLS stream still holds.
    tls_layer().async_handshake(
        asio::ssl::stream_base::client,
        beast::bind_front_handler(&Client::on_tls_handshake, shared_from_this()));
  }

  void on_tls_handshake(error_code ec) {
    if (ec) return on_failure("tls: " + ec.message());
    on_transport_ready();
  }

  void on_transport_ready() {
    if (fleet_.settings.sse) {
      auto handler = beast::bind_front_handler(&Client::on_request_sent, shared_from_this());
      if (https_)
        asio::async_write(*https_, asio::buffer(sse_request_), std::move(handler));
      else
        asio::async_write(*http_, asio::buffer(sse_request_), std::move(handler));
      return;
    }
    if (wss_)
      websocket_handshake(*wss_);
    else
      websocket_handshake(*ws_);
  }

  template <typename WebSocket>
  void websocket_handshake(WebSocket& ws) {
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(10),
                                                  websocket::stream_base::none(), false});
    ws.async_handshake(fleet_.settings.host + ":" + std::to_string(fleet_.settings.port),
                       handshake_target_,
                       beast::bind_front_handler(&Client::on_handshake, shared_from_this()));
  }

  void on_handshake(error_code ec) {
    if (ec) return on_failure("handshake: " + ec.message());
    if (fleet_.settings.nchan) {  // subscribed by the path; nothing to send
      on_subscribed();
      if (!paused_) read();
      return;
    }
    if (wss_)
      send_subscribe(*wss_);
    else
      send_subscribe(*ws_);
    read();
  }

  template <typename WebSocket>
  void send_subscribe(WebSocket& ws) {
    ws.text(true);
    ws.async_write(asio::buffer(subscribe_command_),
                   beast::bind_front_handler(&Client::on_subscribe_sent, shared_from_this()));
  }

  void on_subscribe_sent(error_code, std::size_t) {}  // a failed write also fails the read

  // After the handshake (Beast's) the socket (TLS: the TLS stream) is read here, frames split
  // by next_frame: see frame_reader.hpp for why.
  void read() {
    reading_ = true;
    auto handler = beast::bind_front_handler(&Client::on_read, shared_from_this());
    if (wss_)
      wss_->next_layer().async_read_some(buffer_.prepare(kReadChunk), std::move(handler));
    else
      beast::get_lowest_layer(*ws_).socket().async_read_some(buffer_.prepare(kReadChunk),
                                                             std::move(handler));
  }

  void on_read(error_code ec, std::size_t bytes) {
    reading_ = false;
    if (ec) return on_end(label_of(ec, {}));
    buffer_.commit(bytes);
    const std::int64_t now_ns = steady_now_ns();  // one read, one receive time for its frames
    auto data = buffer_.data();
    auto* begin = static_cast<char*>(data.data());
    std::size_t used = 0;
    while (auto frame = next_frame(begin + used, data.size() - used)) {
      used += frame->size;
      if (frame->opcode == 8) {
        buffer_.consume(buffer_.size());
        error_code ignored;
        stream().socket().close(ignored);
        return on_end(std::to_string(close_code_of(frame->payload)));
      }
      if (frame->opcode == 9) {
        pong(frame->payload);
        continue;
      }
      if (frame->opcode > 2) continue;  // pong, reserved
      if (frame->opcode != 0) message_.clear();
      if (frame->fin && message_.empty()) {
        handle_frame(frame->payload, now_ns);  // the usual case: a whole message, no copy
      } else {
        message_.append(frame->payload);
        if (frame->fin) {
          handle_frame(message_, now_ns);
          message_.clear();
        }
      }
    }
    buffer_.consume(used);
    if (!paused_) read();
  }

  // Servers ping idle connections; Beast writes the (masked) answer. One at a time: a ping that
  // arrives while the last pong is still being written needs no second answer.
  void pong(std::string_view payload) {
    if (pong_in_flight_) return;
    pong_in_flight_ = true;
    payload = payload.substr(0, websocket::ping_data::static_capacity);
    websocket::ping_data data(payload.data(), payload.size());
    auto done = [self = shared_from_this()](error_code) { self->pong_in_flight_ = false; };
    if (wss_)
      wss_->async_pong(data, std::move(done));
    else
      ws_->async_pong(data, std::move(done));
  }

  // SSE: the request is out; the head is read under the same deadline (Beast's tcp_stream), the
  // body from the socket directly, as WebSocket frames are.
  void on_request_sent(error_code ec, std::size_t) {
    if (ec) return on_failure("request: " + label_of(ec, {}));
    sse_read();
  }

  void sse_read() {
    reading_ = true;
    auto handler = beast::bind_front_handler(&Client::on_sse_read, shared_from_this());
    if (https_)  // the deadline, until the head is in, is the tcp_stream's below TLS
      https_->async_read_some(buffer_.prepare(kReadChunk), std::move(handler));
    else if (head_done_)
      http_->socket().async_read_some(buffer_.prepare(kReadChunk), std::move(handler));
    else
      http_->async_read_some(buffer_.prepare(kReadChunk), std::move(handler));
  }

  void on_sse_read(error_code ec, std::size_t bytes) {
    reading_ = false;
    if (ec) return on_end(label_of(ec, {}));
    buffer_.commit(bytes);
    const std::int64_t now_ns = steady_now_ns();
    std::string_view body(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    if (!head_done_) {
      const auto head = parse_response_head(body);
      if (head.state == HttpResponseHead::State::incomplete && body.size() <= kMaxResponseHead)
        return sse_read();
      std::string refused;
      if (head.state != HttpResponseHead::State::complete) {
        refused = "sse: bad response head";
      } else if (head.status != 200) {
        refused = "http " + std::to_string(head.status);  // the refusal's code, when it came along
        if (const auto code = json_string_field(body.substr(head.size), "error"); !code.empty())
          refused += " " + std::string(code);
      } else if (!head.event_stream) {
        refused = "sse: not text/event-stream";
      } else if (head.chunked) {
        refused = "sse: chunked body (not expected: the stream ends with the connection)";
      }
      if (!refused.empty()) {
        close_socket();
        return on_failure(refused);
      }
      head_done_ = true;
      stream().expires_never();
      body.remove_prefix(head.size);
    }
    std::string closed_with;  // the close event's code: the server ends the stream after it
    const bool readable = sse_.feed(body, [&](const SseEvent& event) {
      if (!closed_with.empty()) return;
      if (event.type == "close") {
        closed_with = json_string_field(event.data, "code");
        if (closed_with.empty()) closed_with = "close";
        return;
      }
      // subscribed, article and the rest: the data is the WebSocket message (one JSON line).
      handle_frame(event.data, now_ns);
    });
    buffer_.consume(buffer_.size());
    if (!readable || !closed_with.empty()) {
      close_socket();
      return on_end(readable ? closed_with : "sse: line too long");
    }
    if (!paused_) sse_read();
  }

  void close_socket() {
    error_code ignored;
    stream().socket().close(ignored);
  }

  void handle_frame(std::string_view frame, std::int64_t now_ns) {
    IntervalTotals local;
    ++local.frames;
    local.bytes += frame.size();
    std::unique_lock<std::mutex> lock(totals_.mutex, std::defer_lock);
    if (!slow_) lock.lock();  // slow clients only keep their own per-stream counts
    while (!frame.empty()) {
      const auto newline = frame.find('\n');
      const std::string_view line = frame.substr(0, newline);
      frame = newline == std::string_view::npos ? std::string_view{} : frame.substr(newline + 1);
      const LineKind kind = fleet_.settings.nchan ? LineKind::article : kind_of(line);
      if (kind == LineKind::subscribed) on_subscribed();
      if (kind != LineKind::article) continue;
      const auto marks = read_marks(line);
      if (!marks) continue;
      ++local.deliveries;
      StreamTrack& track = tracks_[marks->stream];
      if (track.seen && marks->seq + 1 == track.next_seq) {
        ++track.duplicates;
        ++local.duplicates;
        continue;
      }
      if (track.seen && marks->seq < track.next_seq) {
        ++track.out_of_order;
        ++local.out_of_order;
      } else {
        track.next_seq = marks->seq + 1;
        track.seen = true;
      }
      ++track.unique;
      ++local.unique;
      if (!slow_) {
        const auto latency_ns = std::max<std::int64_t>(now_ns - marks->sent_ns, 0);
        totals_.interval.latency.record(static_cast<std::uint64_t>(latency_ns / 1000));
      }
    }
    if (!slow_) {
      auto& interval = totals_.interval;
      interval.deliveries += local.deliveries;
      interval.unique += local.unique;
      interval.duplicates += local.duplicates;
      interval.out_of_order += local.out_of_order;
      interval.bytes += local.bytes;
      interval.frames += local.frames;
    }
  }

  void on_subscribed() {
    if (subscribed_) return;  // only the first reply of a connection confirms it
    subscribed_ = true;
    ++fleet_.subscribed_now;
    const auto now = Clock::now();
    {
      std::lock_guard lock(fleet_.shared_mutex);
      fleet_.connect_latency.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - attempt_started_).count()));
      if (ever_subscribed_) {
        fleet_.outage.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - lost_at_).count()));
      }
    }
    if (ever_subscribed_) ++fleet_.resubscribed;
    ever_subscribed_ = true;
    if (slow_) paused_ = true;
  }

  void on_failure(const std::string& label) {
    if (!ever_subscribed_) ++fleet_.connect_failures;
    fleet_.note_connect_error(label);
    retry_later();
  }

  void on_end(const std::string& label) {
    if (!subscribed_) return on_failure("before subscribing: " + label);
    subscribed_ = false;
    --fleet_.subscribed_now;
    ++fleet_.closes;
    end_label_ = label;
    lost_at_ = Clock::now();
    retry_after_ = std::chrono::milliseconds(50);
    retry_later();
  }

  void retry_later() {
    if (!fleet_.settings.reconnect || fleet_.stopping) return;
    // Capped exponential backoff with jitter, as a real client should do after a drain.
    std::uniform_int_distribution<int> jitter(0, static_cast<int>(retry_after_.count()));
    retry_timer_.expires_after(retry_after_ + std::chrono::milliseconds(jitter(random_)));
    retry_after_ = std::min(retry_after_ * 2, std::chrono::milliseconds(1000));
    retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec && !self->fleet_.stopping) self->connect();
    });
  }

  asio::io_context& context_;
  ClientFleet::Impl& fleet_;
  ThreadTotals& totals_;
  tcp::endpoint source_;
  std::vector<unsigned> streams_;  // subscribed categories, then kBreakingStream
  bool slow_;
  std::string handshake_target_;
  std::string subscribe_command_;
  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  std::optional<websocket::stream<TlsStream>> wss_;  // --tls
  std::optional<beast::tcp_stream> http_;            // SSE
  std::optional<TlsStream> https_;                   // SSE, --tls
  std::string sse_request_;
  SseParser sse_;
  bool head_done_ = false;
  beast::flat_buffer buffer_;
  std::string message_;  // a fragmented message being put together
  bool pong_in_flight_ = false;
  std::array<StreamTrack, kStreams> tracks_{};
  std::atomic<bool> subscribed_{false};
  bool ever_subscribed_ = false;
  bool reading_ = false;
  bool paused_ = false;
  std::string end_label_ = "open";
  Clock::time_point attempt_started_, lost_at_;
  asio::steady_timer retry_timer_{context_};
  std::chrono::milliseconds retry_after_{50};
  std::minstd_rand random_{std::random_device{}()};
};

void ClientFleet::Impl::launch_due() {
  if (stopping) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - launch_start).count();
  const auto due = std::min<std::size_t>(
      clients.size(), static_cast<std::size_t>(elapsed * settings.connect_rate) + 1);
  for (; launched < due; ++launched) {
    auto& client = clients[launched];
    asio::post(*contexts[launched % contexts.size()], [client] { client->connect(); });
  }
  if (launched == clients.size()) return;
  launcher->expires_after(std::chrono::milliseconds(5));
  launcher->async_wait([this](error_code ec) {
    if (!ec) launch_due();
  });
}

ClientFleet::ClientFleet(FleetSettings settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = std::move(settings);
}

ClientFleet::~ClientFleet() { stop(); }

void ClientFleet::start() {
  auto& fleet = *impl_;
  const auto& settings = fleet.settings;
  fleet.server = tcp::endpoint(asio::ip::make_address(settings.host), settings.port);
  if (settings.tls) {
    fleet.tls_context.emplace(asio::ssl::context::tls_client);
    if (settings.tls_ca.empty()) {
      fleet.tls_context->set_verify_mode(asio::ssl::verify_none);  // loopback measurements
    } else {
      error_code ec;
      fleet.tls_context->load_verify_file(settings.tls_ca, ec);
      if (ec) throw std::runtime_error("--tls-ca " + settings.tls_ca + ": " + ec.message());
      fleet.tls_context->set_verify_mode(asio::ssl::verify_peer);
    }
  }
  for (unsigned i = 0; i < settings.threads; ++i) {
    fleet.contexts.push_back(std::make_unique<asio::io_context>(1));
    fleet.totals.push_back(std::make_unique<ThreadTotals>());
  }
  std::mt19937_64 random(settings.seed);
  std::vector<unsigned> all(kCategories.size());
  for (unsigned i = 0; i < all.size(); ++i) all[i] = i;
  for (unsigned i = 0; i < settings.connections; ++i) {
    // Slow clients are spread evenly: client i is slow when floor(i * f) steps up.
    const bool slow = static_cast<unsigned>((i + 1) * settings.slow_fraction) >
                      static_cast<unsigned>(i * settings.slow_fraction);
    std::vector<unsigned> streams = all;
    std::shuffle(streams.begin(), streams.end(), random);
    streams.resize(slow ? all.size() : settings.categories_per_client);
    std::sort(streams.begin(), streams.end());
    streams.push_back(kBreakingStream);
    const auto source = asio::ip::address_v4(0x7f000001u + i % settings.source_addresses);
    const unsigned thread = i % settings.threads;
    fleet.clients.push_back(
        std::make_shared<Client>(*fleet.contexts[thread], fleet, *fleet.totals[thread],
                                 tcp::endpoint(source, 0), std::move(streams), slow));
  }
  fleet.launcher.emplace(*fleet.contexts[0]);
  fleet.launch_start = Clock::now();
  asio::post(*fleet.contexts[0], [&fleet] { fleet.launch_due(); });
  for (auto& context : fleet.contexts) {
    fleet.threads.emplace_back([&context] {
      auto guard = asio::make_work_guard(*context);
      context->run();
    });
  }
}

ConnectionCounts ClientFleet::counts() const {
  return {impl_->attempts.load(), impl_->subscribed_now.load(), impl_->connect_failures.load(),
          impl_->closes.load(), impl_->resubscribed.load()};
}

IntervalTotals ClientFleet::take_interval() {
  IntervalTotals sum;
  for (auto& totals : impl_->totals) {
    std::lock_guard lock(totals->mutex);
    sum.add(totals->interval);
    totals->interval = IntervalTotals{};
  }
  return sum;
}

std::array<std::uint64_t, kStreams> ClientFleet::subscribers_per_stream() const {
  std::array<std::uint64_t, kStreams> subscribers{};
  for (const auto& client : impl_->clients) {
    if (client->is_slow() || !client->is_subscribed()) continue;
    for (unsigned stream : client->streams()) ++subscribers[stream];
  }
  return subscribers;
}

void ClientFleet::resume_slow_readers() {
  for (const auto& client : impl_->clients) {
    if (client->is_slow()) client->resume_reading();
  }
}

void ClientFleet::stop() {
  auto& fleet = *impl_;
  if (fleet.stopping.exchange(true)) return;
  for (auto& context : fleet.contexts) context->stop();
  for (auto& thread : fleet.threads) thread.join();
}

FleetSummary ClientFleet::summarize(const std::array<std::uint64_t, kStreams>& published) const {
  FleetSummary summary;
  for (const auto& client : impl_->clients) {
    if (!client->ever_subscribed()) continue;
    if (client->is_slow()) {
      ++summary.slow_clients;
      ++summary.slow_close_labels[client->end_label()];
      for (unsigned stream : client->streams())
        summary.slow_received += client->track(stream).unique;
      continue;
    }
    ++summary.reading_clients;
    if (client->end_label() != "open") ++summary.close_labels[client->end_label()];
    std::uint64_t missing = 0;
    for (unsigned stream : client->streams()) {
      const auto& track = client->track(stream);
      summary.expected += published[stream];
      summary.received_unique += track.unique;
      summary.duplicates += track.duplicates;
      summary.out_of_order += track.out_of_order;
      if (published[stream] > track.unique) missing += published[stream] - track.unique;
    }
    summary.missing += missing;
    if (missing > 0) ++summary.clients_with_loss;
  }
  std::lock_guard lock(impl_->shared_mutex);
  summary.connect_errors = impl_->connect_errors;
  summary.connect_latency = impl_->connect_latency;
  summary.outage = impl_->outage;
  return summary;
}

}  // namespace newspush::loadtest

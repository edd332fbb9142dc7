#pragma once
// One Server-Sent Events reader (GET /sse): the transport of a PushSession over a plain HTTP
// response that lasts as long as the connection. Its subscriptions come with the request; the
// reader sends nothing after it. Lives on one worker thread (see PushSession). A template on the
// stream, a plain TCP socket or TLS (beast::ssl_stream): members in sse_session_impl.hpp, compiled
// once per stream (sse_session.cpp, http_transport_tls.cpp).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <string>
#include <vector>

#include "protocol/command.hpp"
#include "server/net/push_session.hpp"
#include "server/net/tls_context.hpp"

namespace newspush {

template <typename Stream>
class SseSession : public PushSession {
 public:
  // `tls_context`: the context a TLS stream shook hands with, kept while the connection lives.
  SseSession(Stream&& stream, Worker& worker, ServerState& state,
             Admission::ConnectionSlot connection_slot, Admission::ClientSlot client_slot,
             TlsContextPtr tls_context = {});
  ~SseSession() override;

  // Answers the request: `allow_origin` is the Access-Control-Allow-Origin to send (empty:
  // none), `subscription` what the query (and Last-Event-ID) asked for, already validated,
  // `token` the query's ?token= (empty: none), `request_id` the request's X-Request-Id.
  void run(std::string_view allow_origin, const protocol::Subscribe& subscription,
           std::string_view token, std::string_view request_id = {});

  void shut_down() override;

 private:
  void read_next();
  void arm_heartbeat();

  bool write_batch(const std::vector<SharedFrame>& batch) override;
  void send_close() override;
  void abort() override;

  boost::asio::ip::tcp::socket& socket();  // the TCP socket under any TLS

  TlsContextPtr tls_context_;  // declared before stream_: outlives it
  Stream stream_;
  std::array<char, 64> read_chunk_;  // a reader sends nothing after its request: dropped
  std::vector<boost::asio::const_buffer> gather_;
  boost::asio::steady_timer heartbeat_;
  bool wrote_since_heartbeat_ = false;
  bool counted_ = false;  // in newspush_sse_streams
  std::string close_event_;  // kept alive while it is written
};

}  // namespace newspush

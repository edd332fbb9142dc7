#include "server/net/http_session.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <array>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <nlohmann/json.hpp>

#include "protocol/article.hpp"
#include "protocol/sse.hpp"
#include "protocol/url_query.hpp"
#include "server/history/recent_cache.hpp"
#include "server/history/history.hpp"
#include "server/log.hpp"
#include "server/net/api.hpp"
#include "server/net/proxy_header.hpp"
#include "server/net/request_id.hpp"
#include "protocol/trending.hpp"
#include "server/trending/view_recorder.hpp"

namespace newspush {

namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

// A request head arrives in one go from any real client; a slow trickle is an attack on memory.
constexpr auto kHeaderTimeout = std::chrono::seconds(10);
constexpr auto kBodyTimeout = std::chrono::seconds(30);
// After refusing a body, how long to swallow what the client still sends so that our answer is
// not destroyed by a reset (as nginx's lingering_close): the client reads it once it has sent.
constexpr auto kLingerTime = std::chrono::seconds(5);

// A misconfigured balancer (send-proxy missing) breaks every connection: say so, not a flood.
RateLimitedLog bad_proxy_headers{5, std::chrono::seconds(10)};
// Scanners and clients with old TLS stacks fail handshakes all day: a sample, not a flood.
RateLimitedLog failed_handshakes{5, std::chrono::seconds(10)};

// OpenSSL recognises a plain HTTP request where a ClientHello should be.
bool is_plain_http(const boost::system::error_code& ec) {
  return ec.category() == boost::asio::error::get_ssl_category() &&
         ERR_GET_LIB(static_cast<unsigned long>(ec.value())) == ERR_LIB_SSL &&
         (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST ||
          ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTPS_PROXY_REQUEST);
}
// Redis down makes every API call fail: a few lines say so, not one per request.
RateLimitedLog failed_requests{20, std::chrono::seconds(10)};
// Paths are logged, not kept whole: a head may hold 8 KiB of them.
constexpr std::size_t kMaxLoggedPath = 256;

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// ?token=... of /ws and /sse (a connection token); empty when absent or malformed, which makes
// the connection anonymous, as without one.
std::string url_token(std::string_view target) {
  auto question = target.find('?');
  if (question == std::string_view::npos) return {};
  std::string token;
  protocol::for_each_query_param(target.substr(question + 1), [&](std::string_view name,
                                                                  std::string_view value) {
    if (name != "token") return false;
    token = protocol::percent_decode(value).value_or(std::string(value));
    return true;
  });
  return token;
}

}  // namespace

HttpSession::HttpSession(std::unique_ptr<HttpTransport> transport, Worker& worker,
                         ServerState& state, Admission::ConnectionSlot slot, Door door)
    : transport_(std::move(transport)),
      worker_(worker),
      state_(state),
      slot_(std::move(slot)),
      door_(door) {}

void HttpSession::run() {
  beast::error_code ec;
  auto peer = tcp().socket().remote_endpoint(ec).address();
  bool proxied =
      !ec && door_ == Door::public_port && state_.proxy_protocol && is_trusted_proxy(peer);
  // Constructed on the accepting thread; from here on only the worker touches it.
  boost::asio::dispatch(executor(),
                        beast::bind_front_handler(proxied ? &HttpSession::read_proxy_header
                                                          : &HttpSession::shake_hands,
                                                  shared_from_this()));
}

void HttpSession::read_proxy_header() {
  // Armed once: the whole header within the head timeout, however it is split.
  if (buffer_.size() == 0) tcp().expires_after(kHeaderTimeout);
  // Never more than a header's worth: the buffer stays small until the header is known good.
  // The TCP stream itself: a PROXY header comes before any TLS.
  tcp().async_read_some(
      buffer_.prepare(proxy_header::kMaxHeader - buffer_.size()),
      beast::bind_front_handler(&HttpSession::on_proxy_header, shared_from_this()));
}

void HttpSession::on_proxy_header(beast::error_code ec, std::size_t bytes) {
  buffer_.commit(bytes);
  const auto& data = buffer_.cdata();
  auto result = proxy_header::parse(
      std::string_view(static_cast<const char*>(data.data()), data.size()));
  if (!ec && result.status == proxy_header::Status::need_more &&
      buffer_.size() < proxy_header::kMaxHeader)
    return read_proxy_header();
  if (!ec && result.status == proxy_header::Status::parsed) {
    buffer_.consume(result.consumed);  // the rest is the start of the HTTP request
    beast::error_code peer_ec;
    proxied_client_ = result.source ? result.source->address()
                                    : tcp().socket().remote_endpoint(peer_ec).address();
    return shake_hands();
  }
  // A proxy that connected and left before sending anything refused nothing.
  if (ec == boost::asio::error::eof && buffer_.size() == 0) return;
  state_.metrics.count_refusal(Refusal::bad_proxy_header);
  beast::error_code peer_ec;
  auto peer = tcp().socket().remote_endpoint(peer_ec);
  std::string why = ec ? "no PROXY header (" + ec.message() + ")"
                       : std::string(result.status == proxy_header::Status::invalid
                                         ? result.reason
                                         : std::string_view("PROXY header too long"));
  bad_proxy_headers.log_event(LogLevel::warn, "proxy_header.refused",
                              {{"peer", peer.address().to_string()}, {"reason", why}});
  tcp().close();
}

void HttpSession::shake_hands() {
  if (!transport_->is_tls()) return read_request();
  // Not re-armed after a PROXY header: the header and the handshake share the head timeout.
  if (buffer_.size() == 0) tcp().expires_after(kHeaderTimeout);
  transport_->handshake(buffer_.cdata(),
                        beast::bind_front_handler(&HttpSession::on_handshake, shared_from_this()));
}

void HttpSession::on_handshake(beast::error_code ec, std::size_t used) {
  buffer_.consume(used);
  if (!ec) {
    state_.metrics.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
    return read_request();
  }
  // A client that connected and left before saying anything failed nothing.
  if (ec == boost::asio::error::eof && used == 0 && buffer_.size() == 0) return;
  state_.metrics.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
  beast::error_code peer_ec;
  auto peer = tcp().socket().remote_endpoint(peer_ec);
  if (is_plain_http(ec)) {
    state_.metrics.tls_plain_http.fetch_add(1, std::memory_order_relaxed);
    failed_handshakes.log_event(LogLevel::info, "tls.plain_http",
                                {{"peer", peer.address().to_string()}});
    return refuse_plain_http();
  }
  failed_handshakes.log_event(LogLevel::info, "tls.handshake_failed",
                              {{"peer", peer.address().to_string()}, {"error", ec.message()}});
  tcp().close();
}

void HttpSession::refuse_plain_http() {
  // Written on the TCP stream as it is: the client speaks no TLS, and deserves a reason it can
  // read rather than a reset.
  static constexpr std::string_view kAnswer =
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Connection: close\r\nContent-Length: 45\r\n\r\n"
      "this port speaks TLS: use https:// or wss://\n";
  tcp().expires_after(kHeaderTimeout);
  boost::asio::async_write(tcp(), boost::asio::buffer(kAnswer.data(), kAnswer.size()),
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (!ec) self->linger();
                           });
}

void HttpSession::read_request() {
  parser_.emplace();
  // The head first: what the body may be is decided by the route, once it is known.
  parser_->body_limit(boost::none);
  tcp().expires_after(kHeaderTimeout);
  transport_->read_header(buffer_, *parser_,
                          beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
}

void HttpSession::on_header(beast::error_code ec, std::size_t) {
  request_id_.clear();
  request_path_.clear();
  request_method_ = http::verb::unknown;
  if (ec == http::error::header_limit) {
    request_id_ = new_request_id();
    request_keep_alive_ = false;
    body_left_unread_ = true;
    return send_json(431, api::error_body({431, "header_too_large", "request header over 8 KiB", {}}));
  }
  if (ec) return shut_down_send();
  const Request& head = parser_->get();
  request_id_ = request_id_for(head["X-Request-Id"]);
  request_method_ = head.method();
  request_path_ = path_of(head.target()).substr(0, kMaxLoggedPath);
  request_version_ = head.version();
  request_keep_alive_ = head.keep_alive();
  std::string_view path = path_of(head.target());
  // Without the operators' door here the write routes do not exist: no key is asked, no body read.
  auto rule = serves_operators() ? api::body_rule(head.method_string(), path, state_.max_article)
                                 : api::BodyRule{};
  if (rule.needs_key) {
    if (auto denied = api::check_authorization(head[http::field::authorization], state_.publish_keys))
      return refuse(*denied);
  }
  if (parser_->is_done()) return on_request();
  // A body on a route that takes none is never read: the answer is the route's own (405 on
  // POST /metrics, ...), then the connection closes.
  if (rule.max_body == 0) {
    body_left_unread_ = true;
    request_keep_alive_ = false;
    return on_request();
  }
  if (parser_->content_length() && *parser_->content_length() > rule.max_body)
    return refuse({413, "too_large", "request body over the size limit", {}});
  parser_->body_limit(rule.max_body);
  tcp().expires_after(kBodyTimeout);
  transport_->read_body(buffer_, *parser_,
                        beast::bind_front_handler(&HttpSession::on_body, shared_from_this()));
}

void HttpSession::on_body(beast::error_code ec, std::size_t) {
  if (ec == http::error::body_limit)
    return refuse({413, "too_large", "request body over the size limit", {}});
  if (ec) return shut_down_send();
  on_request();
}

void HttpSession::refuse(const api::Error& error) {
  body_left_unread_ = !parser_->is_done();
  if (body_left_unread_) request_keep_alive_ = false;
  send_json(error.status, api::error_body(error));
}

void HttpSession::on_request() {
  const Request& request = parser_->get();
  if (beast::websocket::is_upgrade(request) && path_of(request.target()) == "/ws" && serves_readers()) {
    if (body_left_unread_)
      return send_json(400, api::error_body({400, "bad_request", "an upgrade carries no body", {}}));
    return upgrade(parser_->release());
  }
  if (path_of(request.target()) == "/sse" && serves_readers()) return stream_events(request);
  state_.metrics.http_requests.fetch_add(1, std::memory_order_relaxed);
  if (path_of(request.target()).starts_with("/api/v1/")) {
    handle_api(request);
    return;
  }
  send(route(request));
}

std::optional<Admission::ClientSlot> HttpSession::admit_reader(const Request& request) {
  if (!state_.origins.allows(request[http::field::origin])) {
    state_.metrics.count_refusal(Refusal::origin);
    send_json(403, api::error_body({403, "origin_not_allowed",
                                    "this page's origin may not connect here", {}}));
    return std::nullopt;
  }
  Refusal why{};
  auto client = state_.admission->admit_client(client_address(request),
                                               Admission::Clock::now(), why);
  if (!client) {
    state_.metrics.count_refusal(why);
    request_keep_alive_ = false;
    Response response;
    response.result(http::status::too_many_requests);
    response.set(http::field::content_type, "application/json");
    response.set(http::field::retry_after, "5");
    response.body() = api::error_body(
        why == Refusal::per_ip
            ? api::Error{429, "too_many_connections", "this address holds all the connections it may", {}}
            : api::Error{429, "connecting_too_fast", "this address opens connections too fast", {}});
    send(std::move(response));
  }
  return client;
}

void HttpSession::upgrade(Request request) {
  auto client = admit_reader(request);
  if (!client) return;
  std::string token = url_token(request.target());
  // The id the 101 answer echoes (the request's own, or the one made for it).
  request.set("X-Request-Id", request_id_);
  transport_->start_websocket({worker_, state_, std::move(slot_), std::move(*client)},
                              std::move(request), std::move(token));
}

void HttpSession::stream_events(const Request& request) {
  if (request.method() != http::verb::get) {
    Response response;
    response.result(http::status::method_not_allowed);
    response.set(http::field::allow, "GET");
    response.set(http::field::content_type, "application/json");
    if (request.method() != http::verb::head)
      response.body() = api::error_body({405, "method_not_allowed", "use GET", {}});
    return send(std::move(response));
  }
  if (body_left_unread_)
    return send_json(400, api::error_body({400, "bad_request", "GET /sse carries no body", {}}));
  std::string_view target = request.target();
  std::string_view path = path_of(target);
  std::string_view query =
      path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  auto parsed = protocol::parse_stream_query(query, state_.session.max_categories);
  if (auto* error = std::get_if<protocol::CommandError>(&parsed)) {
    state_.metrics.client_errors.fetch_add(1, std::memory_order_relaxed);
    return send_json(400, api::error_body({400, error->code, error->message, {}}));
  }
  auto& subscription = std::get<protocol::Subscribe>(parsed);
  // EventSource sends the id of the last event it received when it reconnects: newer than the
  // URL's ?since=, which stays what the page first asked for.
  std::string_view last_event_id = request["Last-Event-ID"];
  if (!last_event_id.empty()) {
    if (!protocol::is_event_id(last_event_id))
      return send_json(400, api::error_body({400, "bad_since", "Last-Event-ID is not a cursor", {}}));
    subscription.since = std::string(last_event_id);
  }
  auto client = admit_reader(request);
  if (!client) return;
  std::string_view origin = request[http::field::origin];
  // Cross-origin pages may read the stream: any page when no --allowed-origin is set, else the
  // allowed ones (admit_reader refused the others), named back as CORS wants.
  std::string_view allow_origin = !state_.origins.restricted() || origin.empty() ? "*" : origin;
  transport_->start_sse({worker_, state_, std::move(slot_), std::move(*client)}, allow_origin,
                        subscription, url_token(target), request_id_);
}

bool HttpSession::is_trusted_proxy(const boost::asio::ip::address& peer) const {
  namespace ip = boost::asio::ip;
  // A dual-stack listener ([::]:PORT) sees an IPv4 proxy as ::ffff:a.b.c.d; the list says a.b.c.d.
  const ip::address plain = peer.is_v6() && peer.to_v6().is_v4_mapped()
                                ? ip::address(ip::make_address_v4(ip::v4_mapped, peer.to_v6()))
                                : peer;
  const auto& proxies = state_.trusted_proxies;
  return std::find(proxies.begin(), proxies.end(), plain) != proxies.end() ||
         std::find(proxies.begin(), proxies.end(), peer) != proxies.end();
}

boost::asio::ip::address HttpSession::client_address(const Request& request) {
  // The PROXY header comes from the balancer's TCP side; X-Forwarded-For could come from the
  // client itself when the balancer only relays TCP: with --proxy-protocol it is not read.
  if (proxied_client_) return *proxied_client_;
  beast::error_code ec;
  auto peer = tcp().socket().remote_endpoint(ec).address();
  if (ec || !is_trusted_proxy(peer)) return peer;
  // "client, proxy1, proxy2": the last entry is the one our trusted proxy added; those before
  // it may be forged by the client.
  std::string_view forwarded = request["X-Forwarded-For"];
  auto comma = forwarded.rfind(',');
  std::string_view last = comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1);
  while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
  while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
  auto address = boost::asio::ip::make_address(std::string(last), ec);
  return ec ? peer : address;
}

void HttpSession::shut_down_send() {
  beast::error_code ignored;
  // TLS too: no close_notify, which would wait for the client's; the response said
  // Content-Length or Connection: close, so the client knows where it ends.
  tcp().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
}

void HttpSession::linger() {
  shut_down_send();
  linger_until_ = std::chrono::steady_clock::now() + kLingerTime;
  tcp().expires_after(kLingerTime);
  discard_input();
}

void HttpSession::discard_input() {
  // What is read is thrown away: one buffer per thread serves every lingering connection.
  // Raw TCP, even under TLS: the bytes are thrown away undecrypted.
  thread_local std::array<char, 16 * 1024> discarded;
  tcp().async_read_some(boost::asio::buffer(discarded), [self = shared_from_this()](
                                                              beast::error_code ec, std::size_t) {
    if (ec || std::chrono::steady_clock::now() >= self->linger_until_) return;
    self->discard_input();
  });
}

void HttpSession::send(Response response) {
  response_ = std::make_shared<Response>(std::move(response));
  response_->version(request_version_);
  response_->keep_alive(request_keep_alive_);
  response_->set(http::field::server, "newspushd/" NEWSPUSH_VERSION);
  if (!request_id_.empty()) response_->set("X-Request-Id", request_id_);
  response_->prepare_payload();
  log_refusal(*response_);
  transport_->write(*response_, beast::bind_front_handler(&HttpSession::on_write,
                                                         shared_from_this(),
                                                         response_->keep_alive()));
}

void HttpSession::log_refusal(const Response& response) const {
  const unsigned status = response.result_int();
  if (status < 400 || request_path_ == "/readyz") return;
  const bool failed = status >= 500;
  const LogLevel level = failed ? LogLevel::warn : LogLevel::debug;
  if (!log_enabled(level)) return;
  // The API's answers say why in their body: {"error":"code","message":"..."}.
  std::string code, message;
  if (response[http::field::content_type] == "application/json") {
    auto body = nlohmann::json::parse(response.body(), nullptr, false);
    if (body.is_object() && body.contains("error") && body["error"].is_string())
      code = body["error"].get<std::string>();
    if (body.is_object() && body.contains("message") && body["message"].is_string())
      message = body["message"].get<std::string>();
  }
  const auto verb = http::to_string(request_method_);
  const std::string_view method(verb.data(), verb.size());
  const std::string_view event = failed ? "http.failed" : "http.refused";
  const auto write = [&](LogFields fields) {
    if (failed) failed_requests.log_event(level, event, fields);
    else log_event(level, event, fields);
  };
  if (code.empty())
    write({{"request_id", request_id_}, {"method", method}, {"path", request_path_},
           {"status", status}});
  else
    write({{"request_id", request_id_}, {"method", method}, {"path", request_path_},
           {"status", status}, {"error", code}, {"message", message}});
}

void HttpSession::send_json(int status, std::string body) {
  Response response;
  response.result(static_cast<http::status>(status));
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(body);
  send(std::move(response));
}

void HttpSession::handle_api(const Request& request) {
  std::string_view target = request.target();
  std::string_view path = path_of(target);
  std::string_view query =
      path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  constexpr std::string_view articles = "/api/v1/articles";
  auto fail = [this](const api::Error& error) { send_json(error.status, api::error_body(error)); };
  const bool reads = request.method() == http::verb::get &&
                     (path == articles || path == "/api/v1/trending");
  if (reads && !serves_readers())
    return fail({404, "not_found", "served on the public port, not the admin port", {}});
  if (!reads && !serves_operators())
    return fail({404, "not_found", "no such endpoint on the public port (see --admin-listen)", {}});
  if (path == articles && request.method() == http::verb::get) return list_recent(request, query);
  if (path == "/api/v1/stats" && request.method() == http::verb::get)
    return send_json(200, render_stats_json(state_.metrics));
  if (path == "/api/v1/trending") {
    if (request.method() != http::verb::get) return fail({405, "method_not_allowed", "use GET", {}});
    return show_trending(request, query);
  }
  if (path == "/api/v1/views") {
    if (request.method() != http::verb::post) return fail({405, "method_not_allowed", "use POST", {}});
    return record_views(request);  // the key was checked on the header (api::body_rule)
  }
  bool is_collection = path == articles;
  bool is_item = path.starts_with(std::string(articles) + "/") && path.size() > articles.size() + 1;
  if (!is_collection && !is_item) return fail({404, "not_found", "no such endpoint", {}});
  bool allowed = (is_collection && request.method() == http::verb::post) ||
                 (is_item && request.method() == http::verb::delete_);
  if (!allowed) return fail({405, "method_not_allowed", "use GET or POST here, DELETE on an article", {}});
  // The key was checked on the header, before any of the body was read (api::body_rule).
  if (!state_.history) return fail({503, "unavailable", "history unavailable", {}});
  if (is_collection) return publish_article(request);
  retract_article(std::string(path.substr(articles.size() + 1)));
}

void HttpSession::publish_article(const Request& request) {
  auto parsed = protocol::parse_article(request.body(), state_.max_article);
  if (!parsed.ok()) {
    std::string code(protocol::to_string(parsed.error));
    std::string field = code.starts_with("bad_") ? code.substr(4) : "";
    int status = parsed.error == protocol::ArticleError::too_large ? 413 : 400;
    send_json(status, api::error_body({status, code, parsed.detail, field}));
    return;
  }
  // The body as sent is what gets stored: re-publishing the same bytes is recognised as a retry.
  state_.history->post_publish(
      request.body(), executor(),
      [self = shared_from_this(), id = std::move(parsed.article.id)](const redis::Reply& reply) {
        if (reply.is_error()) {
          auto error = api::error_from_redis(reply.text);
          return self->send_json(error.status, api::error_body(error));
        }
        if (reply.type != redis::Reply::Type::array || reply.elements.size() < 2)
          return self->send_json(503, api::error_body({503, "unavailable", "unexpected reply", {}}));
        const std::string& status = reply.elements[1].text;
        log_event(LogLevel::info, "article.published",
                  {{"request_id", self->request_id_}, {"id", id},
                   {"cursor", reply.elements[0].text}, {"status", status}});
        nlohmann::json body = {{"cursor", reply.elements[0].text}, {"status", status}};
        self->send_json(status == "duplicate" ? 200 : 201, body.dump());
      });
}

void HttpSession::retract_article(std::string id) {
  state_.history->post_retract(
      id, executor(), [self = shared_from_this(), id](const redis::Reply& reply) {
        if (reply.is_error()) {
          auto error = api::error_from_redis(reply.text);
          return self->send_json(error.status, api::error_body(error));
        }
        log_event(LogLevel::info, "article.retracted",
                  {{"request_id", self->request_id_}, {"id", id}, {"cursor", reply.text}});
        self->send_json(200, nlohmann::json({{"cursor", reply.text}, {"status", "retracted"}}).dump());
      });
}

std::optional<auth::CategoryPatterns> HttpSession::reader_rights(const Request& request) {
  std::string_view authorization = request[http::field::authorization];
  if (authorization.empty() || !state_.restricted.any()) return auth::CategoryPatterns{};
  auto token = api::bearer_credentials(authorization);
  auth::TokenVerification verification;
  if (!token) {
    verification.error = auth::TokenError::malformed;
  } else if (!state_.tokens) {
    verification.error = auth::TokenError::alg_not_allowed;
  } else {
    verification = state_.tokens->verify(*token, std::chrono::system_clock::now());
  }
  state_.metrics.token_results[static_cast<std::size_t>(verification.error)].fetch_add(
      1, std::memory_order_relaxed);
  if (verification.ok()) return std::move(verification.claims.categories);
  send_json(401, api::error_body({401, "invalid_token",
                                  "the Bearer token was refused: " +
                                      std::string(auth::to_string(verification.error)),
                                  {}}));
  return std::nullopt;
}

void HttpSession::list_recent(const Request& request, std::string_view query) {
  api::RecentQuery recent;
  if (auto error = api::parse_recent_query(query, recent))
    return send_json(error->status, api::error_body(*error));
  auto rights = reader_rights(request);
  if (!rights) return;
  if (!state_.restricted.allows(recent.category, *rights))
    return send_json(403, api::error_body({403, "forbidden",
                                           "a subscriber-only category: send a token that allows "
                                           "it as Authorization: Bearer",
                                           {}}));
  if (!state_.recent) return send_json(503, api::error_body({503, "unavailable", "history unavailable", {}}));
  if (recent.category != protocol::kAllCategories &&
      state_.known_categories.certainly_unknown(recent.category) && !worker_.head().empty()) {
    // Nobody published in it lately: the answer needs no Redis, whatever name is asked for.
    return send_json(200, R"({"cursor":)" + nlohmann::json(worker_.head()).dump() + R"(,"events":[]})");
  }
  state_.recent->get(
      recent.category, recent.limit, executor(),
      [self = shared_from_this(), limit = recent.limit,
       rights = std::move(*rights)](RecentCache::Answer read) {
        if (!read->ok)
          return self->send_json(503, api::error_body({503, "unavailable", read->error, {}}));
        // The events are already serialized server messages: splice them in. The overall list
        // leaves out the subscriber-only events this reader may not see.
        std::string body = R"({"cursor":)" + nlohmann::json(read->head).dump() + R"(,"events":[)";
        std::size_t listed = 0;
        for (std::size_t i = 0; i < read->events.size() && listed < limit; ++i) {
          const auto& event = *read->events[i];
          if (event.restricted && !rights.matches(event.category)) continue;
          if (listed++) body += ',';
          body += event.message();
        }
        body += "]}";
        self->send_json(200, std::move(body));
      });
}

void HttpSession::show_trending(const Request& request, std::string_view query) {
  std::string category;
  if (auto error = api::parse_trending_query(query, category))
    return send_json(error->status, api::error_body(*error));
  auto rights = reader_rights(request);
  if (!rights) return;
  if (!state_.restricted.allows(category, *rights))
    return send_json(403, api::error_body({403, "forbidden",
                                           "a subscriber-only category: send a token that allows "
                                           "it as Authorization: Bearer",
                                           {}}));
  // The worker's copy is what its WebSocket clients were sent last.
  if (auto list = worker_.trending(category)) return send_json(200, std::string(list->message()));
  send_json(200, protocol::trending_message({category, {}, std::nullopt}));
}

void HttpSession::record_views(const Request& request) {
  std::vector<std::string> ids;
  if (auto error = api::parse_view_batch(request.body(), ids))
    return send_json(error->status, api::error_body(*error));
  if (!state_.views) return send_json(503, api::error_body({503, "unavailable", "views unavailable", {}}));
  state_.views->post_views(
      std::move(ids), executor(), [self = shared_from_this()](trending::ViewCounts counts) {
        if (!counts.ok)
          return self->send_json(503, api::error_body({503, "unavailable", counts.error, {}}));
        self->send_json(200, nlohmann::json({{"counted", counts.counted}, {"unknown", counts.unknown}}).dump());
      });
}

HttpSession::Response HttpSession::route(const Request& request) const {
  Response response;
  auto reply = [&](http::status status, std::string body,
                   std::string_view type = "text/plain; charset=utf-8") {
    response.result(status);
    response.set(http::field::content_type, type);
    response.body() = std::move(body);
  };
  std::string_view path = path_of(request.target());
  bool known = path == "/healthz" || path == "/readyz" || (path == "/metrics" && serves_operators()) ||
               (path == "/ws" && serves_readers());
  if (!known) {
    if (!serves_readers()) {
      reply(http::status::not_found, "not found\n");
      return response;
    }
    if (auto file = state_.site.lookup(request.method_string(), request.target(),
                                       request[http::field::if_none_match])) {
      response.result(static_cast<http::status>(file->status));
      if (!file->content_type.empty()) response.set(http::field::content_type, file->content_type);
      if (!file->cache_control.empty()) response.set(http::field::cache_control, file->cache_control);
      if (!file->etag.empty()) response.set(http::field::etag, file->etag);
      if (file->status == 405) response.set(http::field::allow, "GET, HEAD");
      // string_body owns its bytes: one copy of a small file per GET, no disk read (the site was
      // loaded at start-up).
      if (request.method() != http::verb::head) response.body().assign(file->body);
      return response;
    }
    reply(http::status::not_found, "not found\n");
  } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
    reply(http::status::method_not_allowed, "method not allowed\n");
    response.set(http::field::allow, "GET, HEAD");
  } else if (path == "/healthz") {
    reply(http::status::ok, "ok\n");
  } else if (path == "/readyz") {
    if (state_.draining.load()) reply(http::status::service_unavailable, "draining\n");
    else if (!state_.redis_ready.load()) reply(http::status::service_unavailable, "redis not subscribed\n");
    else if (!state_.history_ready.load()) reply(http::status::service_unavailable, "history unavailable\n");
    else if (!state_.caught_up.load()) reply(http::status::service_unavailable, "catching up with the history\n");
    else reply(http::status::ok, "ready\n");
  } else if (path == "/metrics") {
    reply(http::status::ok, render_prometheus(state_.metrics), "text/plain; version=0.0.4; charset=utf-8");
  } else {
    reply(http::status::upgrade_required, "this endpoint speaks WebSocket\n");
    response.set(http::field::upgrade, "websocket");
  }
  return response;
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) return;
  if (body_left_unread_) return linger();
  if (!keep_alive || state_.draining.load()) return shut_down_send();
  read_request();
}

}  // namespace newspush

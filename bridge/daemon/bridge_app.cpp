#include "bridge/daemon/bridge_app.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "bridge/daemon/apns_provider.hpp"
#include "bridge/daemon/apns_token_share.hpp"
#include "bridge/daemon/cors.hpp"
#include "bridge/daemon/device_api.hpp"
#include "bridge/daemon/dispatcher.hpp"
#include "bridge/daemon/fcm_provider.hpp"
#include "bridge/daemon/http_client.hpp"
#include "bridge/daemon/http_server.hpp"
#include "bridge/daemon/log.hpp"
#include "bridge/daemon/log_reader.hpp"
#include "bridge/daemon/web_push_provider.hpp"

namespace newspush::bridge {

namespace asio = boost::asio;

namespace {

constexpr auto kDrainTimeout = std::chrono::seconds(30);
// HTTP/2 connections to APNs: hundreds of streams each (Apple asks for few, long-lived ones).
constexpr std::size_t kApnsConnections = 4;

std::string read_file(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(flag + ": cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

VapidSigner load_vapid(const BridgeConfig& config) {
  std::string text = read_file(config.vapid_key, "--vapid-key");
  try {
    if (text.find("-----BEGIN") != std::string::npos)
      return VapidSigner::from_pem(text, config.vapid_subject);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
      text.pop_back();
    return VapidSigner::from_base64url(text, config.vapid_subject);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("--vapid-key: ") + e.what());
  }
}

FcmServiceAccount load_fcm(const BridgeConfig& config) {
  std::string json = read_file(config.fcm_credentials, "--fcm-credentials");
  try {
    return FcmServiceAccount::parse(json);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("--fcm-credentials: ") + e.what());
  }
}

ApnsTokenSigner load_apns(const BridgeConfig& config) {
  std::string pem = read_file(config.apns_key, "--apns-key");
  try {
    return ApnsTokenSigner::from_p8(pem, config.apns_key_id, config.apns_team_id);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("--apns-key: ") + e.what());
  }
}

redis::RedisCommandClient::Options redis_options(const BridgeConfig& config) {
  redis::RedisCommandClient::Options options;
  options.endpoint = config.redis;
  return options;
}

}  // namespace

struct BridgeApp::Parts {
  asio::io_context& io;
  BridgeConfig config;
  BridgeMetrics metrics;
  redis::RedisCommandClient commands;
  redis::RedisCommandClient blocking;
  // One HttpClient per provider: over HTTP/1.1 a connection carries one request at a time, so
  // FCM's and Web Push's connection caps follow their --*-concurrency; APNs multiplexes HTTP/2
  // streams over a few.
  std::unique_ptr<HttpClient> fcm_http, apns_http, webpush_http;
  std::unique_ptr<WebPushProvider> web_push;
  std::unique_ptr<FcmProvider> fcm;
  std::unique_ptr<ApnsProvider> apns;
  std::unique_ptr<ApnsTokenShare> apns_tokens;
  std::map<Platform, Provider*> providers;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<LogReader> reader;
  std::unique_ptr<DeviceApi> api;
  std::unique_ptr<HttpServer> server;
  asio::signal_set signals;
  asio::steady_timer drain_deadline;

  Parts(asio::io_context& io_, const BridgeConfig& c)
      : io(io_),
        config(c),
        commands(
            io.get_executor(), redis_options(c), [](auto done) { done(true, {}); },
            [](bool ready) {
              log_line(ready ? LogLevel::info : LogLevel::warn,
                       ready ? "bridge_redis_ready" : "bridge_redis_lost");
            }),
        blocking(
            io.get_executor(), redis_options(c), [](auto done) { done(true, {}); }, [](bool) {}),
        signals(io, SIGTERM, SIGINT),
        drain_deadline(io) {}
};

BridgeApp::BridgeApp(asio::io_context& io, const BridgeConfig& config)
    : parts_(std::make_unique<Parts>(io, config)) {
  auto& p = *parts_;
  auto http_client = [&](std::size_t max_connections_per_host) {
    HttpClientOptions http_options;
    http_options.extra_ca_file = config.provider_ca;
    http_options.max_connections_per_host = static_cast<long>(max_connections_per_host);
    return std::make_unique<HttpClient>(io.get_executor(), http_options);
  };
  if (!config.fcm_credentials.empty()) {
    FcmProviderOptions options;
    options.endpoint = config.fcm_endpoint;
    options.max_in_flight = config.fcm_concurrency;
    options.message.time_to_live = config.ttl;
    p.fcm_http = http_client(config.fcm_concurrency);
    p.fcm =
        std::make_unique<FcmProvider>(io.get_executor(), *p.fcm_http, load_fcm(config), options);
    p.providers[Platform::fcm] = p.fcm.get();
  }
  if (!config.apns_key.empty()) {
    ApnsProviderOptions options;
    options.endpoint = config.apns_endpoint;
    options.topic = config.apns_topic;
    options.max_in_flight = config.apns_concurrency;
    options.time_to_live = config.ttl;
    p.apns_http = http_client(kApnsConnections);
    // The provider signs nothing once tokens are shared; the share signs (with its own copy of
    // the key: keys are not copyable) when the token in Redis is missing or old.
    p.apns = std::make_unique<ApnsProvider>(io.get_executor(), *p.apns_http, load_apns(config),
                                            options);
    p.providers[Platform::apns] = p.apns.get();
    ApnsTokenShareOptions sharing;
    sharing.key_prefix = config.key_prefix;
    p.apns_tokens = std::make_unique<ApnsTokenShare>(io.get_executor(), p.commands,
                                                     load_apns(config), *p.apns, sharing);
  }
  if (!config.vapid_key.empty()) {
    WebPushOptions options;
    options.concurrency = config.webpush_concurrency;
    options.ttl = config.ttl;
    options.allow_http = config.webpush_allow_http;
    p.webpush_http = http_client(config.webpush_concurrency);
    p.web_push = std::make_unique<WebPushProvider>(io.get_executor(), *p.webpush_http,
                                                   load_vapid(config), options);
    p.providers[Platform::webpush] = p.web_push.get();
  }
  DispatcherOptions dispatch;
  dispatch.keys.prefix = config.key_prefix;
  dispatch.log_key = config.log_key;
  dispatch.group = config.group;
  dispatch.max_attempts = config.max_attempts;
  dispatch.max_queue = config.max_queue;
  dispatch.fcm_topics = config.fcm_topics;
  dispatch.rates = {{Platform::fcm, config.fcm_rate},
                    {Platform::apns, config.apns_rate},
                    {Platform::webpush, config.webpush_rate}};
  p.dispatcher =
      std::make_unique<Dispatcher>(io.get_executor(), p.commands, p.providers, p.metrics, dispatch);
  LogReaderOptions reading;
  reading.log_key = config.log_key;
  reading.group = config.group;
  reading.consumer = config.consumer;
  reading.claim_after = config.claim_after;
  p.reader = std::make_unique<LogReader>(io.get_executor(), p.commands, p.blocking, *p.dispatcher,
                                         p.metrics, reading);
  p.dispatcher->on_room([reader = p.reader.get()] { reader->resume(); });
  p.api = std::make_unique<DeviceApi>(p.commands, dispatch.keys, config.api_keys,
                                      config.webpush_allow_http, p.metrics,
                                      [reader = p.reader.get()] { return reader->group_ready(); });
  p.server = std::make_unique<HttpServer>(
      io, config.listen_host, config.listen_port,
      with_cors(config.cors_origins,
                [api = p.api.get()](ApiRequest request, std::function<void(ApiResponse)> respond) {
                  api->handle(std::move(request), std::move(respond));
                }));
}

BridgeApp::~BridgeApp() = default;

void BridgeApp::run() {
  auto& p = *parts_;
  log_line(LogLevel::info, "bridge_listening",
           "address=" + p.config.listen_host + " port=" + std::to_string(p.server->port()) +
               " consumer=" + p.config.consumer);
  p.commands.start();
  p.blocking.start();
  if (p.apns_tokens) p.apns_tokens->start();
  p.reader->start();
  p.signals.async_wait([&p](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log_line(LogLevel::info, "bridge_draining", "signal=" + std::to_string(signal));
    p.reader->stop();
    auto finish = [&p] {
      log_line(LogLevel::info, "bridge_drained",
               "acked=" + std::to_string(p.metrics.entries_acked));
      for (auto& [platform, provider] : p.providers) provider->stop();
      if (p.apns_tokens) p.apns_tokens->stop();
      p.server->stop();
      p.commands.stop();
      p.blocking.stop();
      p.io.stop();
    };
    p.drain_deadline.expires_after(kDrainTimeout);
    p.drain_deadline.async_wait([finish](const boost::system::error_code& ec) {
      if (!ec) {
        log_line(LogLevel::warn, "bridge_drain_timeout");
        finish();
      }
    });
    p.dispatcher->drain(finish);
  });
  p.io.run();
}

}  // namespace newspush::bridge

#include "server/server.hpp"

#include <boost/asio/ip/address.hpp>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "protocol/messages.hpp"
#include "server/history/event_factory.hpp"
#include "server/net/listener.hpp"

namespace newspush {

namespace asio = boost::asio;

namespace {

SessionSettings session_settings(const Config& config) {
  SessionSettings settings;
  settings.max_send_queue = config.max_send_queue;
  settings.max_frame = config.max_frame;
  settings.max_categories = config.max_categories;
  settings.command_rate = config.command_rate;
  settings.idle_timeout = config.idle_timeout;
  settings.sse_heartbeat = config.sse_heartbeat;
  settings.replay.max_events = config.max_replay_events;
  settings.replay.max_bytes = config.max_replay_bytes;
  protocol::WelcomeInfo info{"newspushd/" NEWSPUSH_VERSION, config.max_frame, config.max_categories};
  settings.welcome =
      std::make_shared<const std::string>(websocket_text_frame(protocol::welcome_message(info)));
  return settings;
}

redis::SubscriberOptions subscriber_options(const Config& config) {
  redis::SubscriberOptions options;
  options.endpoint = config.redis;
  options.channels = {config.channel, config.events_channel, config.trending_channel};
  return options;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Names this process in the trending lease, so operators can tell which node computes.
std::string node_id(const Config& config) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", random());
  return std::string(host) + ":" + std::to_string(config.listen_port) + ":" +
         std::to_string(getpid()) + ":" + suffix;
}

trending::LeaderOptions leader_options(const Config& config,
                                       const auth::RestrictedCategories* restricted) {
  trending::LeaderOptions options;
  options.node_id = node_id(config);
  options.channel = config.trending_channel;
  options.interval = config.trending_interval;
  options.half_life = config.trending_half_life;
  options.size = config.trending_size;
  options.restricted = restricted;
  return options;
}

HistoryOptions history_options(const Config& config, const auth::RestrictedCategories* restricted) {
  HistoryOptions options;
  options.endpoint = config.redis;
  options.log_key = config.history_key;
  options.events_channel = config.events_channel;
  options.max_length = config.history_max_length;
  options.max_age = config.history_max_age;
  options.max_article = config.max_article;
  options.restricted = restricted;
  options.reply_timeout = config.redis_timeout;
  options.publish_replicas = static_cast<int>(config.publish_replicas);
  options.publish_replicas_timeout = config.publish_replicas_timeout;
  return options;
}

asio::ip::tcp::endpoint endpoint_of(const std::string& flag, const std::string& host,
                                    std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw ConfigError(flag + ": '" + host + "' is not an IP address");
  return {address, port};
}

asio::ip::tcp::endpoint listen_endpoint(const Config& config) {
  return endpoint_of("--listen", config.listen_host, config.listen_port);
}

}  // namespace

Server::Server(const Config& config)
    : config_(config),
      hub_(effective_threads(config), state_.metrics),
      history_(control_.get_executor(), history_options(config, &state_.restricted),
               [this](bool ready) { on_history_ready(ready); }),
      live_feed_(control_.get_executor(),
                 [this](const std::string& cursor, History::ReadCallback callback) {
                   history_.read_after(cursor, std::move(callback));
                 },
                 {[this](EventPtr event) {
                    // Into the window first: a resume that misses it in the window gets it live.
                    remember(event);
                    hub_.publish(std::move(event));
                    // After the hand-off: once counted, every worker has it queued.
                    state_.metrics.articles_fanned_out.fetch_add(1, std::memory_order_relaxed);
                  },
                  [this](const std::string& reason, const std::string& head) {
                    reset_clients(reason, head);
                  },
                  [this](const std::string& head) { on_caught_up(head); },
                  [](LogLevel level, std::string_view event, LogFields fields) {
                    log_event(level, event, fields);
                  },
                  [this] {
                    state_.metrics.live_feed_overflows.fetch_add(1, std::memory_order_relaxed);
                  }}),
      views_(control_.get_executor(), history_, state_.metrics, config.trending_half_life,
             unix_ms_now),
      trending_feed_(history_, state_.metrics,
                     [this](TrendingPtr list) { hub_.publish_trending(std::move(list)); }),
      trending_leader_(control_.get_executor(), history_, state_.metrics, leader_options(config, &state_.restricted),
                       unix_ms_now),
      subscriber_(control_.get_executor(), subscriber_options(config),
                  {[this](std::string_view channel, std::string_view payload) {
                     on_message(channel, payload);
                   },
                   [this](redis::SubscriberState s) { on_redis_state(s); }}),
      signals_(control_, SIGTERM, SIGINT),
      reload_signal_(control_),
      drain_timer_(control_) {
  if (!config.redis.sentinels.empty()) {
    redis::FailoverWatcherOptions watch{config.redis.sentinels, config.redis.sentinel_master};
    failover_watcher_ = std::make_unique<redis::FailoverWatcher>(
        control_.get_executor(), std::move(watch),
        redis::FailoverWatcherHandlers{
            [this](const std::string& old_primary, const std::string& new_primary) {
              on_failover(old_primary, new_primary);
            },
            [this](const std::string& sentinel) {
              log_event(LogLevel::info, "redis.failover_watch",
                        {{"master", config_.redis.sentinel_master}, {"sentinel", sentinel}});
            },
            [](const std::string& sentinel, const std::string& why) {
              // Failovers are still found on reconnect while the watch tries the next sentinel.
              log_event(LogLevel::warn, "redis.failover_watch_lost",
                        {{"sentinel", sentinel}, {"error", why}});
            }});
  }
  state_.session = session_settings(config);
  state_.history = &history_;
  state_.recent = &recent_;
  state_.metrics.known_categories = &state_.known_categories;
  state_.window = std::make_unique<ReplayWindow>(
      ReplayWindow::Bounds{config.replay_window, config.history_max_length, config.history_max_age});
  state_.history_reads = std::make_unique<ReadSlots>(config.max_history_reads);
  state_.views = &views_;
  state_.publish_keys = api::PublishKeys(config.publish_keys);
  for (const auto& origin : config.allowed_origins) state_.origins.add(origin);  // checked by config
  for (const auto& pattern : config.restricted_categories) state_.restricted.add(pattern);  // likewise
  if (!config.token_secret.empty() || !config.token_public_keys.empty()) {
    auth::TokenVerifierConfig tokens{config.token_secret, {}, config.token_issuer, config.token_audience};
    for (const auto& file : config.token_public_keys) tokens.public_key_files.emplace_back(file);
    try {
      state_.tokens = std::make_unique<auth::TokenVerifier>(tokens);
    } catch (const std::runtime_error& e) {
      throw ConfigError(e.what());
    }
  }
  state_.token_expiry_lead = config.token_expiry_lead;
  for (const auto& proxy : config.trusted_proxies)
    state_.trusted_proxies.push_back(asio::ip::make_address(proxy));  // checked by config
  state_.proxy_protocol = config.proxy_protocol;
  AdmissionLimits limits;
  limits.max_connections = config.max_connections;
  limits.max_connections_per_ip = config.max_connections_per_ip;
  limits.connects_per_second_per_ip = config.connect_rate_per_ip;
  limits.connect_burst = 2.0 * config.connect_rate_per_ip;
  state_.admission = std::make_unique<Admission>(limits);
  state_.max_article = config.max_article;
  if (!config.static_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(config.static_dir, ec))
      throw ConfigError("--static-dir: '" + config.static_dir + "' is not a directory");
    try {
      state_.site = StaticSite::for_directories(config.static_dir);
    } catch (const StaticFilesError& e) {
      throw ConfigError(std::string("--static-dir: ") + e.what());
    }
  }
  if (!config.tls_cert.empty()) {
    try {
      state_.tls = std::make_unique<TlsCertificates>(config.tls_cert, config.tls_key);
    } catch (const TlsError& e) {
      throw ConfigError(e.what());
    }
    // Without TLS, SIGHUP keeps its default meaning: nothing here would be reloaded.
    reload_signal_.add(SIGHUP);
  }
  listener_ = std::make_shared<Listener>(control_, listen_endpoint(config), config.reuse_port, hub_,
                                         state_);
  if (!config.admin_host.empty()) {
    state_.separate_admin_port = true;
    admin_listener_ = std::make_shared<Listener>(
        control_, endpoint_of("--admin-listen", config.admin_host, config.admin_port), false, hub_,
        state_, Door::admin_port);
  }
}

Server::~Server() { stop(); }

int Server::run() {
  hub_.start();
  listener_->start();
  auto endpoint = listener_->local_endpoint();
  log_event(LogLevel::info, "listening",
            {{"address", endpoint.address().to_string() + ":" + std::to_string(endpoint.port())},
             {"threads", effective_threads(config_)},
             {"tls", state_.tls != nullptr}});
  if (admin_listener_) {
    admin_listener_->start();
    auto admin = admin_listener_->local_endpoint();
    log_event(LogLevel::info, "listening.admin",
              {{"address", admin.address().to_string() + ":" + std::to_string(admin.port())},
               {"serves", "metrics, stats, publish, retract, views"}});
  }
  history_.start();
  subscriber_.start();
  if (failover_watcher_) failover_watcher_->start();
  trending_leader_.start();
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (!ec) on_signal(signal);
  });
  if (state_.tls) wait_for_reload();
  control_.run();
  stop();
  log_event(LogLevel::info, "stopped");
  return 0;
}

void Server::on_message(std::string_view channel, std::string_view payload) {
  if (channel == config_.trending_channel) {
    trending_feed_.on_message(payload);
    return;
  }
  state_.metrics.redis_messages.fetch_add(1, std::memory_order_relaxed);
  BuiltEvent built;
  if (channel == config_.events_channel) {
    auto notification = parse_notification(payload);
    if (!notification) {
      count_invalid(protocol::ArticleError::not_json, "malformed event announcement");
      return;
    }
    built = build_history_event(notification->cursor, notification->kind, notification->body,
                                config_.max_article, &state_.restricted);
  } else {
    built = build_live_article(payload, config_.max_article, &state_.restricted);
  }
  if (!built.event) {
    count_invalid(built.error, built.detail);
    return;
  }
  live_feed_.on_event(std::move(built.event));
}

void Server::count_invalid(protocol::ArticleError error, const std::string& detail) {
  state_.metrics.invalid_articles[static_cast<std::size_t>(error)].fetch_add(
      1, std::memory_order_relaxed);
  invalid_article_log_.log_event(LogLevel::warn, "article.invalid",
                                 {{"error", protocol::to_string(error)}, {"detail", detail}});
}

void Server::on_caught_up(const std::string& head) {
  if (auto position = protocol::parse_cursor(head)) state_.window->stand_at(*position);
  recent_.invalidate();
  hub_.set_head(head);
  state_.caught_up.store(true);
  if (!state_.known_categories.seeded()) seed_known_categories();
}

void Server::seed_known_categories() {
  history_.call("newspush_categories", {}, [this](const redis::Reply& reply) {
    if (reply.is_error() || reply.type != redis::Reply::Type::array) {
      // Article lists then ask Redis for any name until the next catch-up.
      log_event(LogLevel::warn, "history.categories_unavailable", {{"error", reply.text}});
      return;
    }
    for (const auto& category : reply.elements) state_.known_categories.add(category.text);
    state_.known_categories.mark_seeded();
  });
}

void Server::remember(const EventPtr& event) {
  state_.known_categories.add(event->category);
  if (!event->cursor) return;  // a bare PUBLISH: not history
  recent_.invalidate();
  state_.window->append(event);
  state_.metrics.replay_window_bytes.store(static_cast<std::int64_t>(state_.window->bytes()),
                                           std::memory_order_relaxed);
  state_.metrics.replay_window_events.store(static_cast<std::int64_t>(state_.window->size()),
                                            std::memory_order_relaxed);
}

void Server::reset_clients(const std::string& reason, const std::string& head) {
  state_.window->clear();
  recent_.invalidate();
  // Sent to every connection, like breaking news: each may have missed events.
  auto event = std::make_shared<ArticleEvent>();
  event->breaking = true;
  set_frames(*event, protocol::reset_message(reason, head), head);
  hub_.publish(std::move(event));
}

void Server::on_history_ready(bool ready) {
  state_.history_ready.store(ready);
  if (ready) live_feed_.retry_now();
  if (ready) trending_feed_.load_current();
  if (ready) trending_leader_.on_history_ready();
  if (ready) log_event(LogLevel::info, "history.ready", {{"stream", config_.history_key}});
  else log_event(LogLevel::warn, "history.unavailable", {{"error", history_.last_error()}});
}

void Server::on_redis_state(redis::SubscriberState s) {
  auto stats = subscriber_.stats();
  auto& metrics = state_.metrics;
  metrics.redis_connects.store(stats.connects);
  metrics.redis_disconnects.store(stats.disconnects);
  metrics.redis_failed_attempts.store(stats.failed_attempts);
  bool up = s == redis::SubscriberState::subscribed;
  metrics.redis_up.store(up ? 1 : 0);
  // Before redis_ready: /readyz must not say ready between a (re)subscribe and its catch-up,
  // which sets caught_up again (on_caught_up).
  state_.caught_up.store(false);
  state_.redis_ready.store(up);
  std::string where = describe(config_.redis);
  const bool sentinels = !config_.redis.sentinels.empty();
  switch (s) {
    case redis::SubscriberState::subscribed:
      if (sentinels)
        log_event(LogLevel::info, "redis.subscribed",
                  {{"channels", config_.channel + "," + config_.events_channel + "," +
                                    config_.trending_channel},
                   {"primary", subscriber_.address()}, {"redis", where}});
      else
        log_event(LogLevel::info, "redis.subscribed",
                  {{"channels", config_.channel + "," + config_.events_channel + "," +
                                    config_.trending_channel},
                   {"redis", where}});
      live_feed_.on_subscribed();
      // Lists published while we were not subscribed are only in Redis' copy.
      trending_feed_.load_current();
      break;
    case redis::SubscriberState::disconnected: {
      std::string error = subscriber_.last_error();
      // Refused credentials are a configuration error, not an outage: said so, as an error.
      // Either way: not ready, retrying with backoff.
      if (error.starts_with("AUTH failed"))
        log_event(LogLevel::error, "redis.auth_failed",
                  {{"redis", where}, {"error", error},
                   {"hint", "check the user and password of --redis or NEWSPUSH_REDIS"}});
      else
        log_event(LogLevel::warn, "redis.disconnected", {{"redis", where}, {"error", error}});
      break;
    }
    default:
      if (log_enabled(LogLevel::debug))
        log_event(LogLevel::debug, "redis." + std::string(redis::to_string(s)), {{"redis", where}});
  }
}

void Server::on_failover(const std::string& old_primary, const std::string& new_primary) {
  state_.metrics.redis_failovers.fetch_add(1, std::memory_order_relaxed);
  log_event(LogLevel::warn, "redis.failover",
            {{"master", config_.redis.sentinel_master},
             {"primary", new_primary},
             {"was", old_primary}});
  const std::string why = "failover: the primary moved to " + new_primary;
  subscriber_.follow_primary(new_primary, why);
  history_.follow_primary(new_primary, why);
}

void Server::on_signal(int signal) {
  log_event(LogLevel::info, "drain.started",
            {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
             {"connections", state_.metrics.connections_current.load()},
             {"timeout_s", static_cast<std::int64_t>(config_.drain_timeout.count())}});
  state_.draining.store(true);
  state_.metrics.draining.store(1);
  listener_->stop();
  trending_leader_.stop();
  hub_.shut_down_connections();
  // A second signal means: stop now.
  signals_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    log_event(LogLevel::warn, "drain.aborted",
              {{"reason", "second signal: stopping without waiting for clients"},
               {"connections", state_.metrics.connections_current.load()}});
    control_.stop();
  });
  wait_for_drain(std::chrono::steady_clock::now() + config_.drain_timeout);
}

void Server::wait_for_reload() {
  reload_signal_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    if (auto error = state_.tls->reload(); error.empty()) {
      state_.metrics.tls_reloads.fetch_add(1, std::memory_order_relaxed);
      // New connections use them; open ones keep the context they shook hands with.
      log_event(LogLevel::info, "tls.reloaded",
                {{"cert", config_.tls_cert}, {"key", config_.tls_key}});
    } else {
      state_.metrics.tls_reload_failures.fetch_add(1, std::memory_order_relaxed);
      log_event(LogLevel::error, "tls.reload_failed",
                {{"error", error}, {"kept", "the previous certificate"}});
    }
    wait_for_reload();
  });
}

void Server::wait_for_drain(std::chrono::steady_clock::time_point deadline) {
  auto open = state_.metrics.connections_current.load();
  if (open <= 0 || std::chrono::steady_clock::now() >= deadline) {
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - (deadline - config_.drain_timeout));
    if (open > 0)
      log_event(LogLevel::warn, "drain.timed_out",
                {{"still_open", open}, {"duration_ms", static_cast<std::int64_t>(took.count())}});
    else
      log_event(LogLevel::info, "drain.finished",
                {{"duration_ms", static_cast<std::int64_t>(took.count())}});
    control_.stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this, deadline](boost::system::error_code ec) {
    if (!ec) wait_for_drain(deadline);
  });
}

void Server::stop() {
  if (failover_watcher_) failover_watcher_->stop();
  boost::system::error_code ignored;
  reload_signal_.cancel(ignored);
  trending_leader_.stop();
  views_.stop();
  subscriber_.stop();
  live_feed_.stop();
  history_.stop();
  if (listener_) listener_->stop();
  if (admin_listener_) admin_listener_->stop();
  hub_.stop();
}

}  // namespace newspush

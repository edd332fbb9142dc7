#include "bridge/daemon/apns_token_share.hpp"

#include "bridge/daemon/log.hpp"

namespace newspush::bridge {
namespace asio = boost::asio;

namespace {

// KEYS[1] the shared token's hash; ARGV: a freshly signed token, its iat, now (Unix seconds), the
// age (seconds) from which the held token is replaced. Answers the token to use and its iat. A
// held token from a clock ahead of ours (negative age) counts as fresh.
constexpr const char* kShareScript = R"lua(
local held = redis.call('HMGET', KEYS[1], 'token', 'iat')
local iat = tonumber(held[2])
if held[1] and iat and tonumber(ARGV[3]) - iat < tonumber(ARGV[4]) then
  return {held[1], held[2]}
end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'iat', ARGV[2])
redis.call('EXPIRE', KEYS[1], 3600)
return {ARGV[1], ARGV[2]}
)lua";

long long unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

struct ApnsTokenShare::State : std::enable_shared_from_this<ApnsTokenShare::State> {
  State(asio::any_io_executor ex, redis::RedisCommandClient& r, ApnsTokenSigner s,
        ApnsProvider& p, ApnsTokenShareOptions o)
      : executor(ex),
        redis(r),
        signer(std::move(s)),
        provider(p),
        options(std::move(o)),
        key(redis_key(options.key_prefix, signer)),
        check_timer(ex),
        retry_timer(ex) {}

  asio::any_io_executor executor;
  redis::RedisCommandClient& redis;
  ApnsTokenSigner signer;
  ApnsProvider& provider;
  ApnsTokenShareOptions options;
  std::string key;
  asio::steady_timer check_timer;
  asio::steady_timer retry_timer;
  bool stopped = true;
  bool reading = false;
  bool read_again = false;  // asked while a read was under way
  bool retry_armed = false;
  bool failing = false;  // logged once per run of failures, not per try
  std::chrono::steady_clock::time_point last_read{};
  std::string token;  // the one handed to the provider
  std::chrono::system_clock::time_point issued_at{};

  void want(ApnsProvider::TokenWant why) {
    if (stopped) return;
    auto now = std::chrono::system_clock::now();
    auto replace_after = options.replace_after;
    if (why == ApnsProvider::TokenWant::missing_or_due && !token.empty() &&
        now - issued_at < replace_after)
      return;  // handed over already; the provider's news is stale
    if (why == ApnsProvider::TokenWant::expired) replace_after = options.min_change_interval;
    read(replace_after);
  }

  void read(std::chrono::seconds replace_after) {
    if (reading) {
      read_again = true;
      return;
    }
    auto since = std::chrono::steady_clock::now() - last_read;
    if (since < options.min_read_interval) {
      if (retry_armed) return;
      retry_armed = true;
      retry_timer.expires_after(options.min_read_interval - since);
      retry_timer.async_wait([self = shared_from_this(), replace_after](
                                 const boost::system::error_code& ec) {
        self->retry_armed = false;
        if (!ec && !self->stopped) self->read(replace_after);
      });
      return;
    }
    auto now = std::chrono::system_clock::now();
    auto candidate = signer.provider_token(now);
    if (!candidate) {
      log_line(LogLevel::error, "bridge_apns_token_failed", "reason=\"cannot sign\"");
      return;
    }
    reading = true;
    last_read = std::chrono::steady_clock::now();
    std::string iat = std::to_string(unix_seconds(now));
    redis.command({"EVAL", kShareScript, "1", key, *candidate, iat, iat,
                   std::to_string(replace_after.count())},
                  [self = shared_from_this(), mine = *candidate,
                   replace_after](const redis::Reply& reply) { self->answered(reply, mine, replace_after); });
  }

  void answered(const redis::Reply& reply, const std::string& mine,
                std::chrono::seconds replace_after) {
    reading = false;
    if (stopped) return;
    if (reply.is_error() || reply.elements.size() != 2) {
      if (!failing)
        log_line(LogLevel::warn, "bridge_apns_token_failed",
               "reason=\"" + (reply.is_error() ? reply.text.substr(0, 200) : "bad reply") + "\"");
      failing = true;
      read(replace_after);  // again after min_read_interval
      return;
    }
    failing = false;
    const std::string& shared = reply.elements[0].text;
    long long iat = std::atoll(reply.elements[1].text.c_str());
    if (shared != token) {
      token = shared;
      issued_at = std::chrono::system_clock::time_point(std::chrono::seconds(iat));
      provider.set_shared_token(token, issued_at);
      log_line(LogLevel::info, "bridge_apns_token",
               std::string("source=") + (shared == mine ? "signed" : "shared") +
                   " iat=" + std::to_string(iat));
    }
    if (read_again) {
      read_again = false;
      want(ApnsProvider::TokenWant::missing_or_due);
    }
  }

  void schedule_check() {
    check_timer.expires_after(options.check_every);
    check_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopped) return;
      self->want(ApnsProvider::TokenWant::missing_or_due);
      self->schedule_check();
    });
  }
};

ApnsTokenShare::ApnsTokenShare(asio::any_io_executor executor, redis::RedisCommandClient& redis,
                               ApnsTokenSigner signer, ApnsProvider& provider,
                               ApnsTokenShareOptions options)
    : state_(std::make_shared<State>(std::move(executor), redis, std::move(signer), provider,
                                     std::move(options))) {
  provider.share_tokens([weak = std::weak_ptr<State>(state_)](ApnsProvider::TokenWant why) {
    if (auto state = weak.lock()) state->want(why);
  });
}

ApnsTokenShare::~ApnsTokenShare() { stop(); }

void ApnsTokenShare::start() {
  state_->stopped = false;
  state_->want(ApnsProvider::TokenWant::missing_or_due);
  state_->schedule_check();
}

void ApnsTokenShare::stop() {
  state_->stopped = true;
  state_->check_timer.cancel();
  state_->retry_timer.cancel();
}

std::string ApnsTokenShare::redis_key(const std::string& key_prefix,
                                      const ApnsTokenSigner& signer) {
  return key_prefix + "apns-token:" + signer.team_id() + ":" + signer.key_id();
}

}  // namespace newspush::bridge

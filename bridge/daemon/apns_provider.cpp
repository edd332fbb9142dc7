#include "bridge/daemon/apns_provider.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "bridge/daemon/retry_after.hpp"

namespace newspush::bridge {
namespace asio = boost::asio;

namespace {

// Device tokens are 64 hex digits today; anything that is not a plain path segment cannot be one.
constexpr std::size_t kMaxDeviceTokenBytes = 200;

bool is_addressable_token(std::string_view token) {
  if (token.empty() || token.size() > kMaxDeviceTokenBytes) return false;
  for (char c : token) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// {"reason":"BadDeviceToken"} (410 adds "timestamp").
std::string apns_reason(const HttpResponse& response) {
  auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    auto it = doc.find("reason");
    if (it != doc.end() && it->is_string()) return it->get<std::string>().substr(0, 100);
  }
  return "HTTP " + std::to_string(response.status);
}

constexpr std::string_view kTooManyTokenUpdates = "TooManyProviderTokenUpdates";
// How long a send waits, as a retry, for a shared token it lacks or that APNs refused.
constexpr std::chrono::milliseconds kTokenWait{1000};

bool is_provider_token_error(std::string_view reason) {
  return reason == "ExpiredProviderToken" || reason == "InvalidProviderToken" ||
         reason == "MissingProviderToken";
}

}  // namespace

SendResult classify_apns_response(const HttpResponse& response,
                                  std::chrono::system_clock::time_point now) {
  SendResult result;
  result.http_status = response.status;
  result.latency = response.latency;
  if (response.status == 0) {
    result.outcome = SendOutcome::retry;
    result.reason =
        response.error.starts_with("timeout") ? "timeout" : response.error.substr(0, 200);
    return result;
  }
  if (response.status == 200) {
    result.outcome = SendOutcome::accepted;
    return result;
  }
  result.reason = apns_reason(response);
  if (response.status == 410 || (response.status == 400 && result.reason == "BadDeviceToken")) {
    result.outcome = SendOutcome::dead_token;
  } else if (response.status == 429 || response.status >= 500 ||
             (response.status == 403 && is_provider_token_error(result.reason))) {
    result.outcome = SendOutcome::retry;
    result.retry_after = parse_retry_after(response.header("retry-after"), now);
    // The shared token is re-read meanwhile (a Redis round trip); an attempt spent at once would
    // bring dead-lettering closer for nothing.
    if (result.reason == kTooManyTokenUpdates &&
        result.retry_after.value_or(std::chrono::milliseconds(0)) < kTokenWait)
      result.retry_after = kTokenWait;
  } else {
    result.outcome = SendOutcome::rejected;
  }
  return result;
}

struct ApnsProvider::State : std::enable_shared_from_this<ApnsProvider::State> {
  State(asio::any_io_executor ex, HttpClient& client, ApnsTokenSigner s, ApnsProviderOptions o)
      : executor(std::move(ex)), http(client), signer(std::move(s)), options(std::move(o)) {}

  asio::any_io_executor executor;
  HttpClient& http;
  ApnsTokenSigner signer;
  ApnsProviderOptions options;
  std::size_t in_flight = 0;
  bool stopped = false;

  std::string token;
  std::chrono::steady_clock::time_point token_made_at;
  std::size_t tokens_made = 0;
  // Shared tokens (share_tokens): set, the provider signs nothing and asks for tokens instead.
  std::function<void(TokenWant)> token_wanted;
  std::chrono::system_clock::time_point token_issued_at;

  struct Attempt {
    std::string url;
    ApnsRequest request;
    SendCallback done;
    bool renewed_token = false;  // after a 403 ExpiredProviderToken: one new token, one more try
  };

  bool token_may_change(std::chrono::steady_clock::time_point now) const {
    return token.empty() || now - token_made_at >= options.min_token_interval;
  }

  // The current provider token, signed anew when it is due; empty only if OpenSSL fails, or,
  // shared, until the first one arrives (a due shared token is used until its successor comes).
  const std::string& current_token() {
    if (token_wanted) {
      if (token.empty() ||
          std::chrono::system_clock::now() - token_issued_at >= options.token_refresh_interval)
        token_wanted(TokenWant::missing_or_due);
      return token;
    }
    auto now = std::chrono::steady_clock::now();
    if (token.empty() || now - token_made_at >= options.token_refresh_interval) {
      if (auto fresh = signer.provider_token(std::chrono::system_clock::now())) {
        token = std::move(*fresh);
        token_made_at = now;
        ++tokens_made;
      }
    }
    return token;
  }

  void post(std::shared_ptr<Attempt> attempt) {
    const std::string& bearer = current_token();
    if (bearer.empty()) {
      SendResult result;
      result.outcome = SendOutcome::retry;
      result.reason = token_wanted ? "provider token: waiting for the shared one"
                                   : "provider token: cannot sign";
      if (token_wanted) result.retry_after = kTokenWait;
      asio::post(executor, [self = shared_from_this(), attempt, result]() mutable {
        self->finish(*attempt, std::move(result));
      });
      return;
    }
    const ApnsHeaders& h = attempt->request.headers;
    HttpRequest request;
    request.url = attempt->url;
    request.http2 = true;
    request.timeout = options.request_timeout;
    request.headers = {{"authorization", "bearer " + bearer}, {"apns-push-type", h.push_type},
                       {"apns-priority", h.priority},         {"apns-collapse-id", h.collapse_id},
                       {"apns-expiration", h.expiration},     {"apns-topic", h.topic},
                       {"content-type", "application/json"}};
    request.body = attempt->request.payload;
    http.perform(std::move(request), [self = shared_from_this(), attempt,
                                      used = bearer](HttpResponse response) {
      SendResult result = classify_apns_response(response, std::chrono::system_clock::now());
      if (self->token_wanted) return self->answered_shared(attempt, used, std::move(result));
      if (response.status == 403 && result.reason == "ExpiredProviderToken" &&
          !attempt->renewed_token) {
        auto now = std::chrono::steady_clock::now();
        // A token already replaced by another send's answer, or old enough to replace: once
        // more with the new one. Younger than 20 minutes: APNs would refuse the change.
        if (self->token != used || self->token_may_change(now)) {
          if (self->token == used) self->token.clear();
          attempt->renewed_token = true;
          self->post(attempt);
          return;
        }
      }
      self->finish(*attempt, std::move(result));
    });
  }

  // Shared tokens: a refused or expired token is never replaced here, only asked for; a send
  // whose token was replaced meanwhile goes once more at once, with the new one.
  void answered_shared(const std::shared_ptr<Attempt>& attempt, const std::string& used,
                       SendResult result) {
    bool refused = result.http_status == 429 && result.reason == kTooManyTokenUpdates;
    bool expired = result.http_status == 403 && is_provider_token_error(result.reason);
    if (refused || expired) {
      if (token != used && !token.empty() && !attempt->renewed_token) {
        attempt->renewed_token = true;
        return post(attempt);
      }
      token_wanted(refused ? TokenWant::refused_change : TokenWant::expired);
      if (expired && result.retry_after.value_or(std::chrono::milliseconds(0)) < kTokenWait)
        result.retry_after = kTokenWait;
    }
    finish(*attempt, std::move(result));
  }

  void finish(Attempt& attempt, SendResult result) {
    --in_flight;
    auto done = std::move(attempt.done);
    done(std::move(result));
  }

};

ApnsProvider::ApnsProvider(asio::any_io_executor executor, HttpClient& http, ApnsTokenSigner signer,
                           ApnsProviderOptions options)
    : state_(std::make_shared<State>(std::move(executor), http, std::move(signer),
                                     std::move(options))) {}

ApnsProvider::~ApnsProvider() = default;

std::size_t ApnsProvider::capacity() const {
  return free_capacity(state_->stopped, state_->in_flight, state_->options.max_in_flight);
}

void ApnsProvider::send(const ArticleNotification& article, const DeviceTarget& device,
                        SendCallback done) {
  if (state_->stopped) {
    answer_later(state_->executor, std::move(done), SendOutcome::retry, "stopping");
    return;
  }
  if (!is_addressable_token(device.token)) {
    answer_later(state_->executor, std::move(done), SendOutcome::rejected, "bad token");
    return;
  }
  ApnsOptions message{.topic = state_->options.topic,
                      .time_to_live = state_->options.time_to_live,
                      .now = std::chrono::system_clock::now()};
  ApnsRequest request = build_apns_request(article, message);
  if (!request.ok()) {
    answer_later(state_->executor, std::move(done), SendOutcome::rejected,
                         std::string(to_string(request.error)));
    return;
  }
  ++state_->in_flight;
  auto attempt = std::make_shared<State::Attempt>();
  attempt->url = state_->options.endpoint + "/3/device/" + device.token;
  attempt->request = std::move(request);
  attempt->done = std::move(done);
  state_->post(std::move(attempt));
}

void ApnsProvider::stop() { state_->stopped = true; }

std::size_t ApnsProvider::provider_tokens_made() const { return state_->tokens_made; }

void ApnsProvider::share_tokens(std::function<void(TokenWant)> wanted) {
  state_->token_wanted = std::move(wanted);
  state_->token.clear();
}

void ApnsProvider::set_shared_token(std::string token,
                                    std::chrono::system_clock::time_point issued_at) {
  state_->token = std::move(token);
  state_->token_issued_at = issued_at;
}

}  // namespace newspush::bridge

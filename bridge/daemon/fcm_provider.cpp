#include "bridge/daemon/fcm_provider.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "bridge/daemon/retry_after.hpp"

namespace newspush::bridge {
namespace asio = boost::asio;

namespace {

// The part of a provider's message kept in a reason (it ends up in the dead-letter stream).
constexpr std::size_t kMaxReasonBytes = 200;

std::string bounded(std::string text) {
  if (text.size() > kMaxReasonBytes) text.resize(kMaxReasonBytes);
  return text;
}

// {"error":{"code":404,"message":"...","status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}
struct FcmError {
  std::string status;
  std::string error_code;
  std::string message;
};

FcmError parse_fcm_error(std::string_view body) {
  FcmError error;
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return error;
  auto it = doc.find("error");
  if (it == doc.end() || !it->is_object()) return error;
  const auto& e = *it;
  if (auto s = e.find("status"); s != e.end() && s->is_string()) error.status = *s;
  if (auto m = e.find("message"); m != e.end() && m->is_string()) error.message = *m;
  if (auto d = e.find("details"); d != e.end() && d->is_array()) {
    for (const auto& detail : *d) {
      if (!detail.is_object()) continue;
      if (auto c = detail.find("errorCode"); c != detail.end() && c->is_string()) {
        error.error_code = *c;
        break;
      }
    }
  }
  return error;
}

}  // namespace

SendResult classify_fcm_response(const HttpResponse& response,
                                 std::chrono::system_clock::time_point now) {
  SendResult result;
  result.http_status = response.status;
  result.latency = response.latency;
  if (response.status == 0) {
    result.outcome = SendOutcome::retry;
    result.reason = response.error.starts_with("timeout") ? "timeout" : bounded(response.error);
    return result;
  }
  if (response.status == 200) {
    result.outcome = SendOutcome::accepted;
    return result;
  }
  FcmError error = parse_fcm_error(response.body);
  std::string code = !error.error_code.empty() ? error.error_code
                     : !error.status.empty()   ? error.status
                                               : "HTTP " + std::to_string(response.status);
  if (response.status == 404 || error.error_code == "UNREGISTERED") {
    result.outcome = SendOutcome::dead_token;
    result.reason = code;
  } else if (response.status == 429 || response.status >= 500) {
    result.outcome = SendOutcome::retry;
    result.reason = code;
    result.retry_after = parse_retry_after(response.header("retry-after"), now);
  } else {
    result.outcome = SendOutcome::rejected;
    result.reason = bounded(error.message.empty() ? code : code + ": " + error.message);
  }
  return result;
}

struct FcmProvider::State : std::enable_shared_from_this<FcmProvider::State> {
  // A token, or why there is none.
  using TokenWaiter = std::function<void(const std::string& token, const std::string& error)>;

  State(asio::any_io_executor ex, HttpClient& client, FcmServiceAccount acct, FcmProviderOptions o)
      : executor(std::move(ex)),
        http(client),
        account(std::move(acct)),
        options(std::move(o)),
        send_url(options.endpoint + fcm_send_path(account.project_id())) {}

  asio::any_io_executor executor;
  HttpClient& http;
  FcmServiceAccount account;
  FcmProviderOptions options;
  std::string send_url;
  std::size_t in_flight = 0;
  bool stopped = false;

  std::string token;
  std::chrono::steady_clock::time_point token_refresh_at;
  bool fetching = false;
  std::vector<TokenWaiter> waiting;
  std::size_t token_requests = 0;

  struct Attempt {
    std::string body;
    SendCallback done;
    bool renewed_token = false;  // after a 401: one new token, one more try
  };

  void with_token(TokenWaiter waiter) {
    if (!token.empty() && std::chrono::steady_clock::now() < token_refresh_at) {
      waiter(token, {});
      return;
    }
    waiting.push_back(std::move(waiter));
    if (!fetching) fetch_token();
  }

  void fetch_token() {
    fetching = true;
    ++token_requests;
    auto assertion = account.assertion(std::chrono::system_clock::now());
    if (!assertion) {
      asio::post(executor, [self = shared_from_this()] {
        self->token_answered({}, "token: cannot sign the assertion");
      });
      return;
    }
    HttpRequest request;
    request.url = account.token_uri();
    request.headers = {{"content-type", "application/x-www-form-urlencoded"}};
    request.body = fcm_token_request_body(*assertion);
    request.timeout = options.request_timeout;
    http.perform(std::move(request), [self = shared_from_this()](HttpResponse response) {
      if (response.status != 200) {
        std::string why = response.status == 0 ? response.error
                                               : "HTTP " + std::to_string(response.status) + " " +
                                                     response.body.substr(0, 100);
        self->token_answered({}, bounded("token: " + why));
        return;
      }
      FcmAccessToken answer = parse_fcm_token_response(response.body);
      if (!answer.ok()) {
        self->token_answered({}, bounded("token: " + answer.error));
        return;
      }
      auto margin =
          std::min<std::chrono::seconds>(self->options.token_refresh_margin, answer.expires_in / 2);
      self->token_refresh_at = std::chrono::steady_clock::now() + answer.expires_in - margin;
      self->token_answered(answer.access_token, {});
    });
  }

  void token_answered(const std::string& new_token, const std::string& error) {
    fetching = false;
    token = new_token;
    auto waiters = std::move(waiting);
    waiting.clear();
    for (auto& waiter : waiters) waiter(new_token, error);
  }

  // After a 401 with `used`: that token goes, unless a newer one already replaced it.
  void forget_token(const std::string& used) {
    if (token == used) token.clear();
  }

  void post_message(std::shared_ptr<Attempt> attempt) {
    with_token(
        [self = shared_from_this(), attempt](const std::string& bearer, const std::string& error) {
          if (!error.empty()) {
            SendResult result;
            result.outcome = SendOutcome::retry;
            result.reason = error;
            self->finish(*attempt, std::move(result));
            return;
          }
          HttpRequest request;
          request.url = self->send_url;
          request.headers = {{"authorization", "Bearer " + bearer},
                             {"content-type", "application/json; charset=utf-8"}};
          request.body = attempt->body;
          request.timeout = self->options.request_timeout;
          self->http.perform(std::move(request), [self, attempt, bearer](HttpResponse response) {
            if (response.status == 401 && !attempt->renewed_token) {
              attempt->renewed_token = true;
              self->forget_token(bearer);
              self->post_message(attempt);
              return;
            }
            SendResult result;
            if (response.status == 401) {
              // A fresh token refused too: the credentials, not the device. Later, not never.
              result.outcome = SendOutcome::retry;
              result.http_status = 401;
              result.reason = "UNAUTHENTICATED";
              result.latency = response.latency;
            } else {
              result = classify_fcm_response(response, std::chrono::system_clock::now());
            }
            self->finish(*attempt, std::move(result));
          });
        });
  }

  void finish(Attempt& attempt, SendResult result) {
    --in_flight;
    auto done = std::move(attempt.done);
    done(std::move(result));
  }

};

FcmProvider::FcmProvider(asio::any_io_executor executor, HttpClient& http,
                         FcmServiceAccount account, FcmProviderOptions options)
    : state_(std::make_shared<State>(std::move(executor), http, std::move(account),
                                     std::move(options))) {}

FcmProvider::~FcmProvider() = default;

std::size_t FcmProvider::capacity() const {
  return free_capacity(state_->stopped, state_->in_flight, state_->options.max_in_flight);
}

void FcmProvider::send(const ArticleNotification& article, const DeviceTarget& device,
                       SendCallback done) {
  if (state_->stopped) {
    answer_later(state_->executor, std::move(done), SendOutcome::retry, "stopping");
    return;
  }
  FittedPayload message =
      build_fcm_message(article,
                        {device.fcm_topic ? FcmTarget::Kind::topic : FcmTarget::Kind::token,
                         device.token},
                        state_->options.message);
  if (!message.ok()) {
    std::string reason = message.error == PayloadError::bad_target
                             ? (device.fcm_topic ? "bad topic" : "bad token")
                             : std::string(to_string(message.error));
    answer_later(state_->executor, std::move(done), SendOutcome::rejected, std::move(reason));
    return;
  }
  ++state_->in_flight;
  auto attempt = std::make_shared<State::Attempt>();
  attempt->body = std::move(message.json);
  attempt->done = std::move(done);
  // With a cached token this starts the request at once (HttpClient posts its answer); without,
  // it waits for the token request in flight or starts one.
  state_->post_message(std::move(attempt));
}

void FcmProvider::stop() { state_->stopped = true; }

std::size_t FcmProvider::token_requests() const { return state_->token_requests; }

}  // namespace newspush::bridge

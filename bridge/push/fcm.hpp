#pragma once
// FCM HTTP v1: the service account's OAuth2 assertion (RFC 7523, RS256), the token exchange's
// request and answer, and the message for an article.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "bridge/push/notification.hpp"
#include "bridge/push/openssl_types.hpp"

namespace newspush::bridge {

inline constexpr std::string_view kFcmScope = "https://www.googleapis.com/auth/firebase.messaging";
inline constexpr std::size_t kMaxFcmMessageBytes = 4096;
// Google accepts an assertion valid for at most an hour.
inline constexpr std::chrono::seconds kFcmAssertionLifetime{3600};

class FcmServiceAccount {
 public:
  // The service-account JSON file's contents (Google Cloud's "type":"service_account").
  // Start-up only; throws std::runtime_error naming the missing or bad field.
  static FcmServiceAccount parse(std::string_view json);

  // {"alg":"RS256","typ":"JWT","kid":private_key_id} .
  // {"iss":client_email,"scope":kFcmScope,"aud":token_uri,"iat":now,"exp":now+1h}.
  // nullopt only if OpenSSL fails.
  std::optional<std::string> assertion(std::chrono::system_clock::time_point now) const;

  const std::string& project_id() const { return project_id_; }
  const std::string& client_email() const { return client_email_; }
  const std::string& token_uri() const { return token_uri_; }
  EVP_PKEY* key() const { return key_.get(); }

 private:
  FcmServiceAccount() = default;
  std::string project_id_;
  std::string client_email_;
  std::string private_key_id_;
  std::string token_uri_;
  ossl::Pkey key_;
};

// The form body POSTed to token_uri (application/x-www-form-urlencoded).
std::string fcm_token_request_body(std::string_view assertion);

struct FcmAccessToken {
  std::string error;  // empty when the answer held a usable token
  std::string access_token;
  std::chrono::seconds expires_in{0};
  bool ok() const { return error.empty(); }
};
// The token endpoint's JSON answer: {"access_token":"...","expires_in":3599,"token_type":"Bearer"}.
// Never throws.
FcmAccessToken parse_fcm_token_response(std::string_view json);

struct FcmTarget {
  enum class Kind { token, topic };
  Kind kind = Kind::token;
  std::string value;  // a registration token, or a topic name ([a-zA-Z0-9-_.~%]+)
};

struct FcmOptions {
  std::chrono::seconds time_to_live{std::chrono::hours(24)};
};

// {"message":{"token"|"topic":...,"notification":{"title","body","image"},"data":{"article_id",
//  "category","breaking","url"},"android":{"priority":"high"|"normal","collapse_key":id,
//  "ttl":"86400s"}}}, at most kMaxFcmMessageBytes. Never throws.
FittedPayload build_fcm_message(const ArticleNotification& article, const FcmTarget& target,
                                const FcmOptions& options = {});

// The URL path to POST it to: /v1/projects/{project_id}/messages:send.
std::string fcm_send_path(std::string_view project_id);

}  // namespace newspush::bridge

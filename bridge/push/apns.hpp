#pragma once
// APNs: the ES256 provider token signed with the team's .p8 key, and what one notification
// carries (payload and header values) for an article.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "bridge/push/notification.hpp"
#include "bridge/push/p256.hpp"

namespace newspush::bridge {

class ApnsTokenSigner {
 public:
  // Start-up only; throws std::runtime_error. key_id and team_id: Apple's 10-character ids
  // (letters and digits; up to 64 accepted, so that staging fakes may name theirs).
  ApnsTokenSigner(P256PrivateKey key, std::string key_id, std::string team_id);
  // The .p8 file's contents (a PKCS#8 PEM EC P-256 key).
  static ApnsTokenSigner from_p8(std::string_view pem, std::string key_id, std::string team_id);

  // {"alg":"ES256","kid":key_id} . {"iss":team_id,"iat":issued_at}. APNs refuses a token older
  // than an hour and one refreshed more often than every 20 minutes: the caller keeps one and
  // replaces it between the two. nullopt only if OpenSSL fails.
  std::optional<std::string> provider_token(std::chrono::system_clock::time_point issued_at) const;

  const std::string& key_id() const { return key_id_; }
  const std::string& team_id() const { return team_id_; }

 private:
  P256PrivateKey key_;
  std::string key_id_;
  std::string team_id_;
};

inline constexpr std::size_t kMaxApnsPayloadBytes = 4096;
inline constexpr std::size_t kMaxApnsCollapseIdBytes = 64;

struct ApnsHeaders {
  std::string push_type = "alert";  // apns-push-type
  std::string priority;             // apns-priority: "10" breaking, "5" otherwise
  std::string collapse_id;          // apns-collapse-id
  std::string expiration;           // apns-expiration: Unix seconds
  std::string topic;                // apns-topic: the app's bundle id
};

struct ApnsOptions {
  std::string topic;
  std::chrono::seconds time_to_live{std::chrono::hours(24)};
  std::chrono::system_clock::time_point now;
};

struct ApnsRequest {
  PayloadError error = PayloadError::none;
  bool shortened = false;  // the body (or more) was cut to fit kMaxApnsPayloadBytes
  std::string payload;     // the JSON body
  ApnsHeaders headers;
  bool ok() const { return error == PayloadError::none; }
};

// {"aps":{"alert":{"title":...,"body":...},"thread-id":category},"article_id":...,"category":...,
//  "url":...}. Never throws.
ApnsRequest build_apns_request(const ArticleNotification& article, const ApnsOptions& options);

// The article id when it is at most 64 bytes of printable ASCII (APNs' limit for
// apns-collapse-id, and what a header may carry); otherwise a digest of it, so that every retry
// of the same article still collapses onto the same notification.
std::string apns_collapse_id(std::string_view article_id);

}  // namespace newspush::bridge

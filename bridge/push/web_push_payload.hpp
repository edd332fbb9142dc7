#pragma once
// What the demo page's service worker receives (once decrypted) for an article, and the headers
// of the push request (RFC 8030).
#include <chrono>
#include <string>
#include <string_view>

#include "bridge/push/notification.hpp"
#include "bridge/push/web_push_crypto.hpp"

namespace newspush::bridge {

// {"title":...,"body":...,"url":...,"tag":id,"category":...,"breaking":bool,"image":...}, at most
// kMaxWebPushPlaintext bytes (one 4096-byte record). "tag" is the id: the service worker passes it
// to showNotification, so a repeated push replaces the notification instead of adding one.
// Never throws.
FittedPayload build_web_push_payload(const ArticleNotification& article);

struct WebPushHeaders {
  std::string ttl;      // TTL: seconds the push service keeps an undelivered message
  std::string urgency;  // Urgency: "high" for breaking news, "normal" otherwise
  std::string topic;    // Topic: a pending message with the same topic is replaced
};
WebPushHeaders build_web_push_headers(const ArticleNotification& article,
                                      std::chrono::seconds time_to_live);

// RFC 8030 section 5.4: a Topic is at most 32 characters of the base64url alphabet. The id itself
// when it is one; otherwise the first 32 characters of its SHA-256 in base64url.
std::string web_push_topic(std::string_view article_id);

}  // namespace newspush::bridge

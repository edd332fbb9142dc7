#include "bridge/push/web_push_payload.hpp"

namespace newspush::bridge {
namespace {

constexpr std::size_t kMaxTopicLength = 32;

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

FittedPayload build_web_push_payload(const ArticleNotification& article) {
  auto render = [&article](const NotificationText& text) {
    nlohmann::ordered_json payload = {{"title", text.title}};
    if (!text.body.empty()) payload["body"] = text.body;
    if (!text.url.empty()) payload["url"] = text.url;
    payload["tag"] = article.id;
    payload["category"] = article.category;
    payload["breaking"] = article.breaking;
    if (!text.image.empty()) payload["image"] = text.image;
    return dump_json(payload);
  };
  return fit_text(article, kMaxWebPushPlaintext, render);
}

std::string web_push_topic(std::string_view article_id) {
  bool usable = !article_id.empty() && article_id.size() <= kMaxTopicLength;
  for (char c : article_id) usable = usable && is_base64url_char(c);
  if (usable) return std::string(article_id);
  return sha256_base64url(article_id).substr(0, kMaxTopicLength);
}

WebPushHeaders build_web_push_headers(const ArticleNotification& article,
                                      std::chrono::seconds time_to_live) {
  return WebPushHeaders{std::to_string(time_to_live.count()), article.breaking ? "high" : "normal",
                        web_push_topic(article.id)};
}

}  // namespace newspush::bridge

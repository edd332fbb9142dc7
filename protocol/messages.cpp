#include "protocol/messages.hpp"

#include <nlohmann/json.hpp>

namespace newspush::protocol {
namespace {

using Json = nlohmann::ordered_json;  // ordered: "type" first makes frames easy to read

constexpr std::size_t kMaxCloseReasonBytes = 123;  // RFC 6455 section 5.5: 125 minus the code

// Compact (never a raw newline). Replacing invalid UTF-8 instead of throwing: a message built from
// a server-side string must never take the connection down.
std::string serialize(const Json& message) {
  return message.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

std::string_view cut_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  while (max_bytes > 0 && (static_cast<unsigned char>(text[max_bytes]) & 0xC0) == 0x80) {
    --max_bytes;
  }
  return text.substr(0, max_bytes);
}

}  // namespace

std::string welcome_message(const WelcomeInfo& info) {
  return serialize({{"type", "welcome"},
                    {"protocol", kProtocolVersion},
                    {"server", info.server},
                    {"max_frame_bytes", info.max_frame_bytes},
                    {"max_categories", info.max_categories}});
}

std::string subscribed_message(const std::vector<std::string>& categories,
                               std::string_view cursor, const std::vector<std::string>& trending) {
  Json message = {{"type", "subscribed"}, {"categories", categories}};
  if (!cursor.empty()) message["cursor"] = cursor;
  if (!trending.empty()) message["trending"] = trending;
  return serialize(message);
}

std::string retract_event(std::string_view cursor, std::string_view id, std::string_view category,
                          bool breaking) {
  return serialize({{"type", "retract"},
                    {"cursor", cursor},
                    {"id", id},
                    {"category", category},
                    {"breaking", breaking}});
}

std::string resumed_message(std::size_t replayed, std::string_view cursor) {
  return serialize({{"type", "resumed"}, {"replayed", replayed}, {"cursor", cursor}});
}

std::string reset_message(std::string_view reason, std::string_view cursor) {
  return serialize({{"type", "reset"}, {"reason", reason}, {"cursor", cursor}});
}

std::string pong_message() { return R"({"type":"pong"})"; }

std::string error_message(std::string_view code, std::string_view message) {
  return serialize({{"type", "error"}, {"code", code}, {"message", message}});
}

// Hot path (once per article, shared by every recipient): the article JSON is spliced in as is
// rather than parsed again.
std::string article_event(const Article& article, std::string_view cursor, bool update) {
  std::string category = serialize(Json(article.category));
  std::string cursor_json = cursor.empty() ? std::string() : serialize(Json(cursor));
  std::string event;
  event.reserve(96 + category.size() + cursor_json.size() + article.json.size());
  event.append(R"({"type":"article")");
  if (!cursor.empty()) event.append(R"(,"cursor":)").append(cursor_json);
  event.append(R"(,"category":)").append(category);
  event.append(R"(,"breaking":)").append(article.breaking ? "true" : "false");
  if (update) event.append(R"(,"update":true)");
  event.append(R"(,"article":)").append(article.json).push_back('}');
  return event;
}

std::string close_reason(std::string_view code) {
  std::string reason = serialize({{"code", code}});
  // Escaping can lengthen the code, so shrink by the overshoot until it fits.
  while (reason.size() > kMaxCloseReasonBytes) {
    std::size_t overshoot = reason.size() - kMaxCloseReasonBytes;
    code = cut_utf8(code, overshoot < code.size() ? code.size() - overshoot : 0);
    reason = serialize({{"code", code}});
  }
  return reason;
}

std::string close_message(std::string_view code) {
  return serialize({{"type", "close"}, {"code", code}});
}

std::string authenticated_message(std::int64_t expires) {
  return serialize({{"type", "authenticated"}, {"exp", expires}});
}

std::string token_expiring_message(std::int64_t expires) {
  return serialize({{"type", "token_expiring"}, {"exp", expires}});
}

std::string forbidden_message(std::string_view category, bool trending) {
  Json message = {{"type", "error"}, {"code", "forbidden"}, {"category", category}};
  if (trending) message["trending"] = true;
  message["message"] = "a subscriber-only category: this connection's token does not allow it";
  return serialize(message);
}

std::string invalid_token_message(std::string_view reason) {
  return serialize({{"type", "error"},
                    {"code", "invalid_token"},
                    {"reason", reason},
                    {"message", "the token was refused; the connection carries on without it"}});
}

std::string token_expired_message(const std::vector<std::string>& categories,
                                  const std::vector<std::string>& trending) {
  return serialize({{"type", "error"},
                    {"code", "token_expired"},
                    {"categories", categories},
                    {"trending", trending},
                    {"message", "the token expired: its subscriber-only subscriptions stopped"}});
}

}  // namespace newspush::protocol

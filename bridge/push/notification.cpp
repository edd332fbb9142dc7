#include "bridge/push/notification.hpp"

#include <openssl/evp.h>

#include "common/base64url.hpp"
#include "protocol/bounded_json.hpp"

namespace newspush::bridge {
namespace {

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026
// How far back from the cut a space may be and still be where the text is cut.
constexpr std::size_t kWordBoundaryReach = 24;

std::string string_member(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string_view to_string(PayloadError error) {
  switch (error) {
    case PayloadError::none:
      return "none";
    case PayloadError::too_large:
      return "too_large";
    case PayloadError::bad_target:
      return "bad_target";
  }
  return "unknown";
}

std::optional<ArticleNotification> notification_from_article(const protocol::Article& article) {
  bool too_deep = false;
  auto doc = protocol::parse_bounded<nlohmann::json>(article.json, too_deep);
  if (too_deep || doc.is_discarded() || !doc.is_object()) return std::nullopt;
  ArticleNotification notification;
  notification.id = article.id;
  notification.category = article.category;
  notification.breaking = article.breaking;
  notification.title = string_member(doc, "title");
  notification.body = string_member(doc, "summary");
  notification.url = string_member(doc, "url");
  notification.image = string_member(doc, "image");
  return notification;
}

std::string shorten_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  bool room_for_ellipsis = max_bytes > kEllipsis.size();
  std::size_t cut = room_for_ellipsis ? max_bytes - kEllipsis.size() : max_bytes;
  while (cut > 0 && is_continuation_byte(text[cut])) --cut;
  if (room_for_ellipsis) {
    std::size_t space = text.substr(0, cut + 1).rfind(' ');
    if (space != std::string_view::npos && space > 0 && cut - space <= kWordBoundaryReach)
      cut = space;
    // No dangling separator before the ellipsis ("Paris, …" reads as "Paris…").
    while (cut > 0 && (text[cut - 1] == ' ' || text[cut - 1] == ',' || text[cut - 1] == ';' ||
                       text[cut - 1] == ':'))
      --cut;
  }
  std::string out(text.substr(0, cut));
  if (room_for_ellipsis && cut > 0) out.append(kEllipsis);
  return out;
}

FittedPayload fit_text(const ArticleNotification& article, std::size_t limit,
                       const std::function<std::string(const NotificationText&)>& render) {
  NotificationText text{article.title, article.body, article.url, article.image};
  FittedPayload result;
  result.json = render(text);
  if (result.json.size() <= limit) return result;
  result.shortened = true;
  // Escaping only lengthens text, so cutting `excess` raw bytes (plus room for the ellipsis)
  // from one field shortens the rendering by at least as much: one cut per field suffices.
  auto excess = [&] { return result.json.size() - limit; };
  auto cut = [&](std::string& field) {
    std::size_t target = field.size() > excess() ? field.size() - excess() : 0;
    // The ellipsis is counted inside max_bytes by shorten_utf8.
    field = target == 0 ? std::string() : shorten_utf8(field, target);
    result.json = render(text);
    return result.json.size() <= limit;
  };
  if (!text.body.empty() && cut(text.body)) return result;
  if (!text.image.empty()) {
    text.image.clear();
    result.json = render(text);
    if (result.json.size() <= limit) return result;
  }
  if (!text.url.empty()) {
    text.url.clear();
    result.json = render(text);
    if (result.json.size() <= limit) return result;
  }
  if (cut(text.title)) return result;
  return FittedPayload{PayloadError::too_large, {}, true};
}

std::string dump_json(const nlohmann::ordered_json& value) {
  // The text was validated as UTF-8 on the way in; replace rather than throw all the same.
  return value.dump(-1, ' ', /*ensure_ascii=*/false,
                    nlohmann::ordered_json::error_handler_t::replace);
}

std::string sha256_base64url(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    // Only out of memory; an empty result would make every id collide, so say so loudly.
    return "sha256-failed";
  }
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string header_safe_id(std::string_view id, std::size_t max_bytes) {
  bool plain = !id.empty() && id.size() <= max_bytes && !id.starts_with('~');
  for (char c : id) plain = plain && c > 0x20 && c < 0x7f;
  if (plain) return std::string(id);
  std::string digest = "~" + sha256_base64url(id);
  if (digest.size() > max_bytes) digest.resize(max_bytes);
  return digest;
}

}  // namespace newspush::bridge

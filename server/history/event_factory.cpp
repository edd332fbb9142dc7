#include "server/history/event_factory.hpp"

#include <nlohmann/json.hpp>

#include "protocol/bounded_json.hpp"
#include "protocol/category.hpp"
#include "protocol/messages.hpp"

namespace newspush {
namespace {

BuiltEvent invalid(protocol::ArticleError error, std::string detail) {
  return {nullptr, error, std::move(detail)};
}

bool is_restricted(const std::string& category, const auth::RestrictedCategories* restricted) {
  return restricted && restricted->restricted(category);
}

BuiltEvent build_retraction(std::string_view cursor_text, const protocol::Cursor& cursor,
                            std::string_view body, const auth::RestrictedCategories* restricted) {
  bool too_deep = false;
  auto json = protocol::parse_bounded<nlohmann::json>(body, too_deep);
  if (too_deep || !json.is_object()) return invalid(protocol::ArticleError::not_object, "retraction is not an object");
  auto id = json.find("id");
  auto category = json.find("category");
  auto breaking = json.find("breaking");
  if (id == json.end() || !id->is_string())
    return invalid(protocol::ArticleError::bad_id, "retraction without an id");
  if (category == json.end() || !category->is_string() ||
      !protocol::is_valid_category(category->get_ref<const std::string&>()))
    return invalid(protocol::ArticleError::bad_category, "retraction without a valid category");
  auto event = std::make_shared<ArticleEvent>();
  event->category = category->get<std::string>();
  event->breaking = breaking != json.end() && breaking->is_boolean() && breaking->get<bool>();
  event->restricted = is_restricted(event->category, restricted);
  event->cursor = cursor;
  set_frames(*event,
             protocol::retract_event(cursor_text, id->get_ref<const std::string&>(),
                                     event->category, event->breaking),
             cursor_text);
  return {std::move(event), protocol::ArticleError::none, {}};
}

}  // namespace

std::optional<Notification> parse_notification(std::string_view payload) {
  auto first = payload.find('\n');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = payload.find('\n', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  return Notification{payload.substr(0, first), payload.substr(first + 1, second - first - 1),
                      payload.substr(second + 1)};
}

BuiltEvent build_live_article(std::string_view payload, std::size_t max_article,
                              const auth::RestrictedCategories* restricted) {
  auto parsed = protocol::parse_article(payload, max_article);
  if (!parsed.ok()) return invalid(parsed.error, std::move(parsed.detail));
  auto event = std::make_shared<ArticleEvent>();
  event->category = parsed.article.category;
  event->breaking = parsed.article.breaking;
  event->restricted = is_restricted(event->category, restricted);
  set_frames(*event, protocol::article_event(parsed.article), {});
  return {std::move(event), protocol::ArticleError::none, {}};
}

BuiltEvent build_history_event(std::string_view cursor_text, std::string_view kind,
                               std::string_view body, std::size_t max_article,
                               const auth::RestrictedCategories* restricted) {
  auto cursor = protocol::parse_cursor(cursor_text);
  if (!cursor) return invalid(protocol::ArticleError::not_json, "malformed cursor in history");
  if (kind == "retract") return build_retraction(cursor_text, *cursor, body, restricted);
  if (kind != "article" && kind != "update")
    return invalid(protocol::ArticleError::not_json, "unknown history event kind");
  auto parsed = protocol::parse_article(body, max_article);
  if (!parsed.ok()) return invalid(parsed.error, std::move(parsed.detail));
  auto event = std::make_shared<ArticleEvent>();
  event->category = parsed.article.category;
  event->breaking = parsed.article.breaking;
  event->restricted = is_restricted(event->category, restricted);
  event->cursor = std::move(cursor);
  set_frames(*event, protocol::article_event(parsed.article, cursor_text, kind == "update"),
             cursor_text);
  return {std::move(event), protocol::ArticleError::none, {}};
}

}  // namespace newspush

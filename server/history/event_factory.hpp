#pragma once
// Turns what Redis holds or announces into events ready to fan out: validated once, serialized
// once. Used for live notifications and for history reads alike.
#include <optional>
#include <string>
#include <string_view>

#include "protocol/article.hpp"
#include "server/auth/restricted_categories.hpp"
#include "server/hub/event.hpp"

namespace newspush {

// What the atomic publish path announces: "<cursor>\n<kind>\n<body>".
struct Notification {
  std::string_view cursor;
  std::string_view kind;  // "article", "update" or "retract"
  std::string_view body;  // the article JSON, or {"id","category","breaking"} for a retraction
};
std::optional<Notification> parse_notification(std::string_view payload);

struct BuiltEvent {
  EventPtr event;  // null when invalid
  protocol::ArticleError error = protocol::ArticleError::none;
  std::string detail;
};

// `restricted` (optional) marks the events of subscriber-only categories, once per event.
// An article from a bare PUBLISH: no cursor.
BuiltEvent build_live_article(std::string_view payload, std::size_t max_article,
                              const auth::RestrictedCategories* restricted = nullptr);
// An event of the shared history.
BuiltEvent build_history_event(std::string_view cursor, std::string_view kind,
                               std::string_view body, std::size_t max_article,
                               const auth::RestrictedCategories* restricted = nullptr);

}  // namespace newspush

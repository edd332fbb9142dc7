// What the atomic publish path announces on news:events, "<cursor>\n<kind>\n<body>", and the
// history entries replayed from news:log (parse_notification, build_history_event).
#include <algorithm>
#include <cstdint>

#include "fuzz/fuzz_json.hpp"
#include "protocol/category.hpp"
#include "server/history/event_factory.hpp"

using namespace newspush;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  auto notification = parse_notification(text);
  if (!notification) {
    FUZZ_CHECK(std::count(text.begin(), text.end(), '\n') < 2);
    return 0;
  }
  FUZZ_CHECK(notification->cursor.find('\n') == std::string_view::npos);
  FUZZ_CHECK(notification->kind.find('\n') == std::string_view::npos);
  FUZZ_CHECK(notification->cursor.size() + notification->kind.size() + notification->body.size() + 2 ==
             text.size());

  auto built = build_history_event(notification->cursor, notification->kind, notification->body,
                                   64 * 1024);
  if (!built.event) {
    FUZZ_CHECK(built.error != protocol::ArticleError::none);
    return 0;
  }
  FUZZ_CHECK(built.error == protocol::ArticleError::none);
  const ArticleEvent& event = *built.event;
  FUZZ_CHECK(protocol::is_valid_category(event.category));
  FUZZ_CHECK(event.cursor.has_value());
  auto frame = fuzz::parse_message(std::string(event.message()));
  const bool retract = notification->kind == "retract";
  FUZZ_CHECK(frame["type"] == (retract ? "retract" : "article"));
  FUZZ_CHECK(frame["category"] == event.category && frame["breaking"] == event.breaking);
  // Redis hands out ASCII cursors; the client must get back exactly what it will resume from.
  if (fuzz::is_utf8(notification->cursor)) FUZZ_CHECK(frame["cursor"] == notification->cursor);
  if (!retract) {
    FUZZ_CHECK(frame.value("update", false) == (notification->kind == "update"));
    FUZZ_CHECK(frame["article"]["category"] == event.category);
  }
  return 0;
}

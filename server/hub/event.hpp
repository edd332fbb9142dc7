#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "protocol/cursor.hpp"
#include "protocol/sse.hpp"

namespace newspush {

// A message serialized once and shared, immutable, by every connection that sends it.
using SharedFrame = std::shared_ptr<const std::string>;

// One event (an article, a correction or a retraction) on its way from Redis to the sockets.
struct ArticleEvent {
  std::string category;
  bool breaking = false;
  bool restricted = false;  // a subscriber-only category: only readers whose token allows it
  std::optional<protocol::Cursor> cursor;  // none for articles sent with a bare PUBLISH
  std::string frame;                       // the serialized server message, shared by all
  std::string sse_frame;                   // the same, as a Server-Sent Event (GET /sse)
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
};
using EventPtr = std::shared_ptr<const ArticleEvent>;

// Sets both frames of an event from its server message, once per event (never per reader).
// `id` is the cursor a Server-Sent Events reader resumes from after it, if any.
inline void set_frames(ArticleEvent& event, std::string message, std::string_view id) {
  event.sse_frame = protocol::sse_event(protocol::message_type(message), id, message);
  event.frame = std::move(message);
}

// The newest trending list of one category ("*": overall), as every node received it.
struct TrendingUpdate {
  std::string category;
  std::string frame;  // the serialized "trending" message, shared by all
  std::string sse_frame;  // the same, as a Server-Sent Event

  void set_frames(std::string message) {
    sse_frame = protocol::sse_event("trending", {}, message);
    frame = std::move(message);
  }
};
using TrendingPtr = std::shared_ptr<const TrendingUpdate>;

}  // namespace newspush

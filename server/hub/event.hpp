#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "protocol/cursor.hpp"
#include "protocol/sse.hpp"
#include "websocket/frame.hpp"

namespace newspush {

// A message serialized once and shared, immutable, by every connection that sends it: for a
// WebSocket, a whole text frame (header and payload); for Server-Sent Events, the event's text.
using SharedFrame = std::shared_ptr<const std::string>;

// A server message as one WebSocket text frame. Server frames are unmasked (RFC 6455 5.1), so
// the same bytes go to every recipient: built once per message, never per reader.
inline std::string websocket_text_frame(std::string_view message) {
  std::string frame;
  frame.reserve(websocket::frame_size(message.size()));
  websocket::append_frame(frame, websocket::Opcode::text, message);
  return frame;
}

// The message a frame made by websocket_text_frame carries (empty if `frame` is not one).
inline std::string_view websocket_payload(std::string_view frame) {
  if (frame.size() < 2) return {};
  const unsigned length7 = static_cast<unsigned char>(frame[1]) & 0x7F;
  const std::size_t header = length7 == 126 ? 4 : length7 == 127 ? 10 : 2;
  return frame.size() < header ? std::string_view{} : frame.substr(header);
}

// One event (an article, a correction or a retraction) on its way from Redis to the sockets.
struct ArticleEvent {
  std::string category;
  bool breaking = false;
  bool restricted = false;  // a subscriber-only category: only readers whose token allows it
  std::optional<protocol::Cursor> cursor;  // none for articles sent with a bare PUBLISH
  std::string frame;      // the serialized server message as a WebSocket text frame, shared by all
  std::string sse_frame;  // the same message, as a Server-Sent Event (GET /sse)
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();

  // The serialized server message (JSON), as the HTTP API splices it in.
  std::string_view message() const { return websocket_payload(frame); }
};
using EventPtr = std::shared_ptr<const ArticleEvent>;

// Sets both frames of an event from its server message, once per event (never per reader).
// `id` is the cursor a Server-Sent Events reader resumes from after it, if any.
inline void set_frames(ArticleEvent& event, std::string message, std::string_view id) {
  event.sse_frame = protocol::sse_event(protocol::message_type(message), id, message);
  event.frame = websocket_text_frame(message);
}

// The newest trending list of one category ("*": overall), as every node received it.
struct TrendingUpdate {
  std::string category;
  std::string frame;      // the serialized "trending" message as a WebSocket text frame
  std::string sse_frame;  // the same message, as a Server-Sent Event

  std::string_view message() const { return websocket_payload(frame); }
  void set_frames(std::string_view message) {
    sse_frame = protocol::sse_event("trending", {}, message);
    frame = websocket_text_frame(message);
  }
};
using TrendingPtr = std::shared_ptr<const TrendingUpdate>;

}  // namespace newspush

#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "protocol/cursor.hpp"

namespace newspush {

// A message serialized once and shared, immutable, by every connection that sends it.
using SharedFrame = std::shared_ptr<const std::string>;

// One event (an article, a correction or a retraction) on its way from Redis to the sockets.
struct ArticleEvent {
  std::string category;
  bool breaking = false;
  std::optional<protocol::Cursor> cursor;  // none for articles sent with a bare PUBLISH
  std::string frame;                       // the serialized server message, shared by all
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
};
using EventPtr = std::shared_ptr<const ArticleEvent>;

// The newest trending list of one category ("*": overall), as every node received it.
struct TrendingUpdate {
  std::string category;
  std::string frame;  // the serialized "trending" message, shared by all
};
using TrendingPtr = std::shared_ptr<const TrendingUpdate>;

}  // namespace newspush

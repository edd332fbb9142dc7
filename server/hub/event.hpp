#pragma once
#include <memory>
#include <string>

namespace newspush {

// A message serialized once and shared, immutable, by every connection that sends it.
using SharedFrame = std::shared_ptr<const std::string>;

// One article on its way from Redis to the sockets.
struct ArticleEvent {
  std::string category;
  bool breaking = false;
  std::string frame;  // the serialized "article" server message
};

}  // namespace newspush

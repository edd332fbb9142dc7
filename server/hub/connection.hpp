#pragma once
#include "server/hub/event.hpp"

namespace newspush {

// What the hub needs of a client connection. Called on the connection's own worker thread only.
class Connection {
 public:
  virtual ~Connection() = default;
  // Queue an event's frame; must not remove the connection from the index synchronously (the
  // hub is iterating it), so a connection that must close defers that.
  virtual void deliver(const EventPtr& event) = 0;
  // Queue a trending list, replacing an older one of the same category still queued. Same rule
  // as deliver about the index.
  virtual void deliver_trending(const TrendingPtr& list) = 0;
  // Write what deliver() queued while the worker was corked (see Worker::drain).
  virtual void flush() = 0;
  // Server shutdown: close with 1001.
  virtual void shut_down() = 0;
};

}  // namespace newspush

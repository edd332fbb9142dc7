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
  // Server shutdown: close with 1001.
  virtual void shut_down() = 0;
};

}  // namespace newspush

#pragma once
// What every connection of the process shares: limits, counters and readiness.
#include <atomic>
#include <chrono>
#include <cstddef>

#include "server/hub/event.hpp"
#include "server/metrics.hpp"

namespace newspush {

struct SessionSettings {
  std::size_t max_send_queue = 0;
  std::size_t max_frame = 0;
  std::size_t max_categories = 0;
  std::chrono::seconds idle_timeout{60};
  SharedFrame welcome;  // the same welcome message for everyone, serialized once
};

struct ServerState {
  SessionSettings session;
  Metrics metrics;
  std::atomic<bool> redis_ready{false};
  std::atomic<bool> draining{false};

  bool ready() const { return redis_ready.load() && !draining.load(); }
};

}  // namespace newspush

#pragma once
// Caps how many client replays read the history from Redis at once, node-wide: each holds pages
// of entries in memory and costs Redis a scan, so a flood of resumes from old cursors must queue
// up at the clients (who retry later), not in this process. Thread-safe.
#include <atomic>
#include <cstddef>
#include <memory>

namespace newspush {

class ReadSlots {
 public:
  explicit ReadSlots(std::size_t max) : max_(max) {}

  // A slot, given back when the last copy of the returned pointer goes; null when all are taken.
  std::shared_ptr<void> try_take() {
    auto taken = taken_.load(std::memory_order_relaxed);
    do {
      if (taken >= max_) return nullptr;
    } while (!taken_.compare_exchange_weak(taken, taken + 1, std::memory_order_relaxed));
    // Points at this object only to be non-null: the deleter is what matters.
    return std::shared_ptr<void>(this, [](ReadSlots* slots) {
      slots->taken_.fetch_sub(1, std::memory_order_relaxed);
    });
  }

  std::size_t taken() const { return taken_.load(std::memory_order_relaxed); }
  std::size_t max() const { return max_; }

 private:
  std::atomic<std::size_t> taken_{0};
  std::size_t max_;
};

}  // namespace newspush

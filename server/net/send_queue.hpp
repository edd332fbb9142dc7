#pragma once
// A connection's outgoing messages, bounded in bytes. Messages are shared frames: queuing one is
// a reference-count increment, never a copy.
#include <cstddef>
#include <vector>

#include "server/hub/event.hpp"

namespace newspush {

class SendQueue {
 public:
  explicit SendQueue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // False (and nothing queued) when the frame would take the queue past its bound.
  bool push(SharedFrame frame) {
    if (bytes_ + frame->size() > max_bytes_) return false;
    bytes_ += frame->size();
    pending_.push_back(std::move(frame));
    return true;
  }

  // Moves everything queued into `batch` (cleared first; both keep their capacity, so a busy
  // connection stops allocating once warmed up).
  void take_all(std::vector<SharedFrame>& batch) {
    batch.clear();
    batch.swap(pending_);
    bytes_ = 0;
  }

  void clear() {
    pending_.clear();
    bytes_ = 0;
  }

  bool empty() const { return pending_.empty(); }
  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return pending_.size(); }

 private:
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::vector<SharedFrame> pending_;
};

}  // namespace newspush

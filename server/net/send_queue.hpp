#pragma once
// A connection's outgoing messages, bounded in bytes. Messages are shared frames: queuing one is
// a reference-count increment, never a copy.
//
// Some messages only matter in their newest version (a trending list): those are queued under a
// key, and a newer one replaces the queued one in place. They are not counted toward the bound:
// there is at most one per key, and a slow reader must be cut off for the articles it cannot
// take, never for rankings it would have skipped anyway.
#include <cstddef>
#include <string_view>
#include <utility>
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

  // Queues `frame` under `key`, replacing a frame still queued under the same key (then returns
  // true). `key` must stay valid while the frame is queued (it points into the frame's owner).
  bool push_latest(std::string_view key, SharedFrame frame) {
    for (auto& [queued_key, position] : keyed_) {
      if (queued_key != key) continue;
      pending_[position] = std::move(frame);
      queued_key = key;  // the old key's storage goes with the old frame
      return true;
    }
    keyed_.emplace_back(key, pending_.size());
    pending_.push_back(std::move(frame));
    return false;
  }

  // Moves everything queued into `batch` (cleared first; both keep their capacity, so a busy
  // connection stops allocating once warmed up).
  void take_all(std::vector<SharedFrame>& batch) {
    batch.clear();
    batch.swap(pending_);
    keyed_.clear();
    bytes_ = 0;
  }

  void clear() {
    pending_.clear();
    keyed_.clear();
    bytes_ = 0;
  }

  bool empty() const { return pending_.empty(); }
  // Bytes counted toward the bound (keyed frames are not).
  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return pending_.size(); }
  std::size_t keyed_count() const { return keyed_.size(); }

 private:
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::vector<SharedFrame> pending_;
  std::vector<std::pair<std::string_view, std::size_t>> keyed_;  // key, position in pending_
};

}  // namespace newspush

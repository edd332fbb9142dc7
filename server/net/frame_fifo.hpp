#pragma once
// First in, first out, for the frames a resuming connection replays. Unlike std::deque, an empty
// one owns no memory (libstdc++'s deque allocates over 500 bytes up front), and one that drained
// a long replay gives its memory back: most connections never resume, and must stay small.
#include <cstddef>
#include <utility>
#include <vector>

#include "server/hub/event.hpp"

namespace newspush {

class FrameFifo {
 public:
  template <typename... Args>
  void emplace_back(Args&&... args) {
    frames_.emplace_back(std::forward<Args>(args)...);
  }
  void push_back(SharedFrame frame) { frames_.push_back(std::move(frame)); }
  bool empty() const { return head_ == frames_.size(); }
  const SharedFrame& front() const { return frames_[head_]; }
  void pop_front() {
    frames_[head_++].reset();
    if (empty()) clear();
  }
  void clear() {
    std::vector<SharedFrame>().swap(frames_);
    head_ = 0;
  }

 private:
  std::vector<SharedFrame> frames_;
  std::size_t head_ = 0;
};

}  // namespace newspush

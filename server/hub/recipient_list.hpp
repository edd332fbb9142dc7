#pragma once
// A list of connections that fan-out walks and that forgets one member in O(1).
//
// Fan-out walks members() as a plain contiguous array of pointers: no hashing, no indirection.
// Removal must not search that array (a mass disconnect would be quadratic), so each member
// keeps its own position in a "slot" it owns, and the list keeps, beside each member, where that
// slot lives. Erasing moves the last member into the hole and updates the moved member's slot.
// Order is therefore not stable, which fan-out does not need.
#include <cassert>
#include <cstddef>
#include <limits>
#include <vector>

namespace newspush {

template <typename Subscriber>
class RecipientList {
 public:
  // The value a slot holds while its owner is not in the list.
  static constexpr std::size_t kUnlisted = std::numeric_limits<std::size_t>::max();

  // `slot` must stay at the same address until erase(slot): the list writes the member's
  // position into it whenever the member moves.
  void push(Subscriber* s, std::size_t& slot) {
    assert(slot == kUnlisted);
    slot = members_.size();
    members_.push_back(s);
    slots_.push_back(&slot);
  }

  void erase(std::size_t& slot) {
    std::size_t i = slot;
    assert(i < members_.size() && slots_[i] == &slot);
    members_[i] = members_.back();
    slots_[i] = slots_.back();
    *slots_[i] = i;
    members_.pop_back();
    slots_.pop_back();
    slot = kUnlisted;  // after the move: when i was the last position, slots_[i] was &slot
  }

  const std::vector<Subscriber*>& members() const { return members_; }
  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

 private:
  std::vector<Subscriber*> members_;
  std::vector<std::size_t*> slots_;  // slots_[i] holds i
};

}  // namespace newspush

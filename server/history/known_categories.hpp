#pragma once
// The categories the history carries, as this node knows them: seeded from the newest entries
// of the history (as far back as the article lists look) when it becomes readable, then grown by
// every event the node delivers. Bounded. A category a client names is checked here before it
// may cost anything: a Redis scan for an article list, a metric series. Written by the control
// thread, read from any.
#include <atomic>
#include <cstddef>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace newspush {

class KnownCategories {
 public:
  // A news site has dozens; past this many, names are no longer told apart (full()).
  static constexpr std::size_t kMax = 1000;

  // Control thread. False when the set is full and `category` is not in it.
  bool add(std::string_view category) {
    {
      std::shared_lock lock(mutex_);
      if (categories_.contains(category)) return true;
    }
    std::unique_lock lock(mutex_);
    if (categories_.size() >= kMax) return categories_.contains(category);
    categories_.emplace(category);
    return true;
  }
  // The seed from the history is in: a name not known now is one nobody published in lately.
  void mark_seeded() { seeded_.store(true); }
  bool seeded() const { return seeded_.load(); }

  bool contains(std::string_view category) const {
    std::shared_lock lock(mutex_);
    return categories_.contains(category);
  }
  // True when names not in the set may still be categories of the history.
  bool full() const {
    std::shared_lock lock(mutex_);
    return categories_.size() >= kMax;
  }
  // Seeded, not full, and not in the set: certainly no recent article.
  bool certainly_unknown(std::string_view category) const {
    if (!seeded()) return false;
    std::shared_lock lock(mutex_);
    return categories_.size() < kMax && !categories_.contains(category);
  }

 private:
  mutable std::shared_mutex mutex_;
  std::set<std::string, std::less<>> categories_;
  std::atomic<bool> seeded_{false};
};

}  // namespace newspush

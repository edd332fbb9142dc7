#pragma once
// Which connections of one worker thread want which category. Owned and used by that thread only,
// so fan-out takes no lock. A connection subscribed to "*" is listed only under "*" so that every
// recipient list is disjoint and fan-out needs no per-recipient check. Every list is a
// RecipientList: fan-out walks an array, and a connection leaves in O(its subscriptions).
//
// Nothing may change the index while it is walked: a swap-and-pop would move an unvisited member
// into a visited position, and a push could reallocate the array under the loop. Connections
// therefore defer leaving until the walk is over (see Connection::deliver); debug builds (the
// sanitizer runs) check it.
#include <cassert>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/category.hpp"
#include "server/hub/recipient_list.hpp"

namespace newspush {

template <typename Subscriber>
class SubscriptionIndex {
 public:
  void add(Subscriber* s) {
    assert_not_walking();
    auto [it, inserted] = entries_.try_emplace(s);
    if (inserted) connections_.push(s, it->second.connection_slot);
  }

  // Forgets the connection and all its subscriptions, in O(its subscriptions); safe to call twice.
  void remove(Subscriber* s) {
    assert_not_walking();
    auto it = entries_.find(s);
    if (it == entries_.end()) return;
    for (auto& [category, slot] : it->second.categories) unlist(category, slot);
    connections_.erase(it->second.connection_slot);
    entries_.erase(it);
  }

  void subscribe(Subscriber* s, const std::string& category) {
    assert_not_walking();
    auto& categories = entries_.at(s).categories;
    auto [it, inserted] = categories.try_emplace(category, List::kUnlisted);
    if (!inserted) return;
    if (category == protocol::kAllCategories) {
      for (auto& [other, slot] : categories) unlist(other, slot);
      list(category, s, it->second);
    } else if (!categories.contains(protocol::kAllCategories)) {
      list(category, s, it->second);
    }
  }

  void unsubscribe(Subscriber* s, const std::string& category) {
    assert_not_walking();
    auto& categories = entries_.at(s).categories;
    auto it = categories.find(category);
    if (it == categories.end()) return;
    unlist(category, it->second);
    categories.erase(it);
    if (category == protocol::kAllCategories)
      for (auto& [other, slot] : categories) list(other, s, slot);
  }

  // Sorted, as reported to the client in "subscribed".
  std::vector<std::string> categories_of(Subscriber* s) const {
    std::vector<std::string> out;
    for (const auto& [category, slot] : entries_.at(s).categories) out.push_back(category);
    return out;
  }

  std::size_t category_count(Subscriber* s) const { return entries_.at(s).categories.size(); }

  // Calls f(subscriber) once for every connection that should get this article.
  template <typename F>
  std::size_t for_each_recipient(std::string_view category, bool breaking, F&& f) const {
    Walk walk(*this);
    if (breaking) {
      for (auto* s : connections_.members()) f(s);
      return connections_.size();
    }
    std::size_t n = 0;
    for (std::string_view key : {std::string_view(protocol::kAllCategories), category}) {
      auto it = lists_.find(key);
      if (it == lists_.end()) continue;
      for (auto* s : it->second.members()) f(s);
      n += it->second.size();
    }
    return n;
  }

  const std::vector<Subscriber*>& connections() const { return connections_.members(); }

  // The categories a connection is listed under: its set, or just "*" when it has "*".
  std::vector<std::string> listed_categories(Subscriber* s) const {
    const auto& categories = entries_.at(s).categories;
    if (categories.contains(protocol::kAllCategories))
      return {std::string(protocol::kAllCategories)};
    return categories_of(s);
  }

  bool is_listed(Subscriber* s, std::string_view category) const {
    auto it = entries_.find(s);
    if (it == entries_.end()) return false;
    auto found = it->second.categories.find(category);
    return found != it->second.categories.end() && found->second != List::kUnlisted;
  }

  // Calls f for the connections listed under exactly this key (no "*" expansion).
  template <typename F>
  std::size_t for_each_listed(std::string_view category, F&& f) const {
    Walk walk(*this);
    auto it = lists_.find(category);
    if (it == lists_.end()) return 0;
    for (auto* s : it->second.members()) f(s);
    return it->second.size();
  }

  // Listed subscribers per category ("*" subscribers are counted under "*" only).
  std::map<std::string, std::size_t> listed_counts() const {
    std::map<std::string, std::size_t> counts;
    for (const auto& [category, list] : lists_) counts[category] = list.size();
    return counts;
  }

 private:
  using List = RecipientList<Subscriber>;
  // Lives in a node of entries_, so the slots below keep their address while the map grows, as
  // RecipientList requires.
  struct Entry {
    std::size_t connection_slot = List::kUnlisted;  // position in connections_
    // Each category with the connection's position in that category's list; kUnlisted while
    // "*" stands in for it.
    std::map<std::string, std::size_t, std::less<>> categories;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // Marks a walk in progress; once per fan-out, never per recipient.
  struct Walk {
    explicit Walk(const SubscriptionIndex& index) : index_(index) { ++index_.walks_; }
    ~Walk() { --index_.walks_; }
    Walk(const Walk&) = delete;
    Walk& operator=(const Walk&) = delete;
    const SubscriptionIndex& index_;
  };
  void assert_not_walking() const {
    assert(walks_ == 0 && "a connection left or changed the index while the hub walked it");
  }

  void list(const std::string& category, Subscriber* s, std::size_t& slot) {
    lists_[category].push(s, slot);
  }
  void unlist(const std::string& category, std::size_t& slot) {
    if (slot == List::kUnlisted) return;
    auto it = lists_.find(category);
    it->second.erase(slot);
    if (it->second.empty()) lists_.erase(it);
  }

  std::unordered_map<Subscriber*, Entry> entries_;
  List connections_;
  std::unordered_map<std::string, List, StringHash, std::equal_to<>> lists_;
  mutable int walks_ = 0;  // walks in progress (nested ones are fine: they only read)
};

}  // namespace newspush

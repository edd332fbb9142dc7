#pragma once
// Which connections of one worker thread want which category. Owned and used by that thread only,
// so fan-out takes no lock. A connection subscribed to "*" is listed only under "*" so that every
// recipient list is disjoint and fan-out needs no per-recipient check.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/category.hpp"

namespace newspush {

template <typename Subscriber>
class SubscriptionIndex {
 public:
  void add(Subscriber* s) {
    if (entries_.try_emplace(s).second) connections_.push_back(s);
  }

  // Forgets the connection and all its subscriptions; safe to call twice.
  void remove(Subscriber* s) {
    auto it = entries_.find(s);
    if (it == entries_.end()) return;
    for (const auto& category : it->second.categories) unlist(category, s);
    erase_from(connections_, s);
    entries_.erase(it);
  }

  void subscribe(Subscriber* s, const std::string& category) {
    auto& entry = entries_.at(s);
    if (!entry.categories.insert(category).second) return;
    bool all = category == protocol::kAllCategories;
    if (all) {
      for (const auto& other : entry.categories)
        if (other != category) unlist(other, s);
      list(category, s);
    } else if (!entry.categories.contains(std::string(protocol::kAllCategories))) {
      list(category, s);
    }
  }

  void unsubscribe(Subscriber* s, const std::string& category) {
    auto& entry = entries_.at(s);
    if (entry.categories.erase(category) == 0) return;
    bool all = category == protocol::kAllCategories;
    if (all) {
      unlist(category, s);
      for (const auto& other : entry.categories) list(other, s);
    } else if (!entry.categories.contains(std::string(protocol::kAllCategories))) {
      unlist(category, s);
    }
  }

  // Sorted, as reported to the client in "subscribed".
  std::vector<std::string> categories_of(Subscriber* s) const {
    const auto& set = entries_.at(s).categories;
    return {set.begin(), set.end()};
  }

  std::size_t category_count(Subscriber* s) const { return entries_.at(s).categories.size(); }

  // Calls f(subscriber) once for every connection that should get this article.
  template <typename F>
  std::size_t for_each_recipient(std::string_view category, bool breaking, F&& f) const {
    if (breaking) {
      for (auto* s : connections_) f(s);
      return connections_.size();
    }
    std::size_t n = 0;
    for (std::string_view key : {std::string_view(protocol::kAllCategories), category}) {
      auto it = lists_.find(key);
      if (it == lists_.end()) continue;
      for (auto* s : it->second) f(s);
      n += it->second.size();
    }
    return n;
  }

  const std::vector<Subscriber*>& connections() const { return connections_; }

  // The categories a connection is listed under: its set, or just "*" when it has "*".
  std::vector<std::string> listed_categories(Subscriber* s) const {
    const auto& set = entries_.at(s).categories;
    if (set.contains(std::string(protocol::kAllCategories)))
      return {std::string(protocol::kAllCategories)};
    return {set.begin(), set.end()};
  }

  bool is_listed(Subscriber* s, std::string_view category) const {
    auto it = entries_.find(s);
    if (it == entries_.end()) return false;
    const auto& set = it->second.categories;
    bool all = set.contains(std::string(protocol::kAllCategories));
    return all ? category == protocol::kAllCategories : set.contains(std::string(category));
  }

  // Calls f for the connections listed under exactly this key (no "*" expansion).
  template <typename F>
  std::size_t for_each_listed(std::string_view category, F&& f) const {
    auto it = lists_.find(category);
    if (it == lists_.end()) return 0;
    for (auto* s : it->second) f(s);
    return it->second.size();
  }

  // Listed subscribers per category ("*" subscribers are counted under "*" only).
  std::map<std::string, std::size_t> listed_counts() const {
    std::map<std::string, std::size_t> counts;
    for (const auto& [category, list] : lists_) counts[category] = list.size();
    return counts;
  }

 private:
  struct Entry {
    std::set<std::string> categories;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void list(const std::string& category, Subscriber* s) { lists_[category].push_back(s); }
  void unlist(const std::string& category, Subscriber* s) {
    auto it = lists_.find(category);
    if (it == lists_.end()) return;
    erase_from(it->second, s);
    if (it->second.empty()) lists_.erase(it);
  }
  // Order inside a recipient list does not matter: swap-and-pop.
  static void erase_from(std::vector<Subscriber*>& v, Subscriber* s) {
    auto it = std::find(v.begin(), v.end(), s);
    if (it == v.end()) return;
    *it = v.back();
    v.pop_back();
  }

  std::unordered_map<Subscriber*, Entry> entries_;
  std::vector<Subscriber*> connections_;
  std::unordered_map<std::string, std::vector<Subscriber*>, StringHash, std::equal_to<>> lists_;
};

}  // namespace newspush

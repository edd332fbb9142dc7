#pragma once
// Which connections asked for which extra streams (the trending lists a connection wants beyond
// those of its article categories). Owned by one worker thread. Most connections ask for none or
// one, so a connection has an entry only while it asks for something.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/hub/recipient_list.hpp"

namespace newspush {

template <typename Subscriber>
class KeyedIndex {
 public:
  void add(Subscriber* s, const std::string& key) {
    auto [it, inserted] = entries_[s].try_emplace(key, List::kUnlisted);
    if (inserted) lists_[key].push(s, it->second);
  }

  void remove(Subscriber* s, const std::string& key) {
    auto entry = entries_.find(s);
    if (entry == entries_.end()) return;
    auto it = entry->second.find(key);
    if (it == entry->second.end()) return;
    unlist(key, it->second);
    entry->second.erase(it);
    if (entry->second.empty()) entries_.erase(entry);
  }

  // O(the connection's keys). Safe to call for a connection that asked for nothing.
  void remove_all(Subscriber* s) {
    auto it = entries_.find(s);
    if (it == entries_.end()) return;
    for (auto& [key, slot] : it->second) unlist(key, slot);
    entries_.erase(it);
  }

  // Sorted.
  std::vector<std::string> keys_of(Subscriber* s) const {
    auto it = entries_.find(s);
    if (it == entries_.end()) return {};
    std::vector<std::string> keys;
    for (const auto& [key, slot] : it->second) keys.push_back(key);
    return keys;
  }

  bool contains(Subscriber* s, std::string_view key) const {
    auto it = entries_.find(s);
    return it != entries_.end() && it->second.contains(key);
  }

  template <typename F>
  void for_each(std::string_view key, F&& f) const {
    auto it = lists_.find(key);
    if (it == lists_.end()) return;
    for (auto* s : it->second.members()) f(s);
  }

 private:
  using List = RecipientList<Subscriber>;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void unlist(const std::string& key, std::size_t& slot) {
    auto it = lists_.find(key);
    it->second.erase(slot);
    if (it->second.empty()) lists_.erase(it);
  }

  // Each key a connection asked for, with its position in that key's list. Map nodes keep their
  // address, as RecipientList requires of a slot.
  std::unordered_map<Subscriber*, std::map<std::string, std::size_t, std::less<>>> entries_;
  std::unordered_map<std::string, List, StringHash, std::equal_to<>> lists_;
};

}  // namespace newspush

#pragma once
// Which connections asked for which extra streams (the trending lists a connection wants beyond
// those of its article categories). Owned by one worker thread. Most connections ask for none or
// one, so a connection has an entry only while it asks for something.
#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace newspush {

template <typename Subscriber>
class KeyedIndex {
 public:
  void add(Subscriber* s, const std::string& key) {
    if (entries_[s].insert(key).second) lists_[key].push_back(s);
  }

  void remove(Subscriber* s, const std::string& key) {
    auto it = entries_.find(s);
    if (it == entries_.end() || it->second.erase(key) == 0) return;
    unlist(key, s);
    if (it->second.empty()) entries_.erase(it);
  }

  // Safe to call for a connection that asked for nothing.
  void remove_all(Subscriber* s) {
    auto it = entries_.find(s);
    if (it == entries_.end()) return;
    for (const auto& key : it->second) unlist(key, s);
    entries_.erase(it);
  }

  // Sorted.
  std::vector<std::string> keys_of(Subscriber* s) const {
    auto it = entries_.find(s);
    if (it == entries_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }

  bool contains(Subscriber* s, std::string_view key) const {
    auto it = entries_.find(s);
    return it != entries_.end() && it->second.contains(std::string(key));
  }

  template <typename F>
  void for_each(std::string_view key, F&& f) const {
    auto it = lists_.find(std::string(key));
    if (it == lists_.end()) return;
    for (auto* s : it->second) f(s);
  }

 private:
  void unlist(const std::string& key, Subscriber* s) {
    auto it = lists_.find(key);
    if (it == lists_.end()) return;
    auto& list = it->second;
    auto found = std::find(list.begin(), list.end(), s);
    if (found != list.end()) {
      *found = list.back();
      list.pop_back();
    }
    if (list.empty()) lists_.erase(it);
  }

  std::unordered_map<Subscriber*, std::set<std::string>> entries_;
  std::unordered_map<std::string, std::vector<Subscriber*>> lists_;
};

}  // namespace newspush

#pragma once
// GET /api/v1/articles without a Redis scan per request. Each category's answer is kept until the
// node delivers another event (the head moves: invalidate()), requests for a category being read
// wait for that one read, and what is kept is bounded in bytes. So the scans Redis runs grow with
// what the newsroom publishes, not with how often readers (or anyone) ask. Thread-safe.
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/history/history.hpp"

namespace newspush {

class RecentCache {
 public:
  using Answer = std::shared_ptr<const HistoryRead>;  // newest first; use the first `limit`
  using Callback = std::function<void(Answer)>;

  // A handful of categories' lists of up to 200 articles fit many times over.
  static constexpr std::size_t kDefaultMaxBytes = 16 * 1024 * 1024;

  explicit RecentCache(History& history, std::size_t max_bytes = kDefaultMaxBytes)
      : history_(history), max_bytes_(max_bytes) {}

  // Any thread; the callback runs on `reply_to`.
  void get(const std::string& category, std::size_t limit, boost::asio::any_io_executor reply_to,
           Callback callback);
  // Any thread: the head moved, every answer kept is stale.
  void invalidate();

  std::size_t bytes() const;

 private:
  struct Waiter {
    std::size_t limit;
    boost::asio::any_io_executor executor;
    Callback callback;
  };
  struct Entry {
    Answer answer;
    std::uint64_t generation = 0;  // of the head when it was asked for
    std::size_t asked = 0;         // articles asked for: the answer serves limits up to this
    std::size_t asking = 0;        // asked for by the read in flight (0: none)
    std::vector<Waiter> waiters;
  };

  bool serves(const Entry& entry, std::size_t limit) const;
  void on_answer(const std::string& category, std::uint64_t generation, std::size_t asked,
                 HistoryRead read);
  void evict_for(const std::string& kept);

  History& history_;
  std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::uint64_t generation_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace newspush

#include "server/history/recent_cache.hpp"

#include <boost/asio/post.hpp>

namespace newspush {

namespace {
// Reads ask for one of these sizes, so that a client cycling through limits 1..200 makes at most
// four reads per category and head, not two hundred.
std::size_t bucket_for(std::size_t limit) {
  for (std::size_t size : {20, 50, 100}) if (limit <= size) return size;
  return 200;
}
// What an answer costs beyond its events' frames.
constexpr std::size_t kEntryOverhead = 256;
// Names that reach the cache are known categories (see KnownCategories), but a history with more
// categories than it holds lets any name through: entries are capped by count too.
constexpr std::size_t kMaxEntries = 2000;

std::size_t cost(const RecentCache::Answer& answer) {
  return answer ? kEntryOverhead + answer->bytes : 0;
}
}  // namespace

bool RecentCache::serves(const Entry& entry, std::size_t limit) const {
  if (!entry.answer || entry.generation != generation_) return false;
  // An answer shorter than asked for is the whole list: it serves any limit.
  return entry.asked >= limit || entry.answer->events.size() < entry.asked;
}

void RecentCache::get(const std::string& category, std::size_t limit,
                      boost::asio::any_io_executor reply_to, Callback callback) {
  std::unique_lock lock(mutex_);
  auto found = entries_.find(category);
  if (found == entries_.end() && entries_.size() >= kMaxEntries) {
    lock.unlock();
    // Too many names in play to keep them all: this one is read for itself alone.
    history_.post_recent(category, limit, reply_to, [callback](HistoryRead read) {
      callback(std::make_shared<const HistoryRead>(std::move(read)));
    });
    return;
  }
  Entry& entry = found != entries_.end() ? found->second : entries_[category];
  if (serves(entry, limit)) {
    auto answer = entry.answer;
    lock.unlock();
    boost::asio::post(reply_to, [callback, answer] { callback(answer); });
    return;
  }
  entry.waiters.push_back({limit, reply_to, std::move(callback)});
  std::size_t wanted = bucket_for(limit);
  if (entry.asking >= wanted) return;  // the read in flight will serve this one too
  entry.asking = wanted;
  auto generation = generation_;
  lock.unlock();
  history_.post_recent(category, wanted, reply_to,
                       [this, category, generation, wanted](HistoryRead read) {
                         on_answer(category, generation, wanted, std::move(read));
                       });
}

void RecentCache::on_answer(const std::string& category, std::uint64_t generation,
                            std::size_t asked, HistoryRead read) {
  auto answer = std::make_shared<const HistoryRead>(std::move(read));
  std::vector<Waiter> served;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(category);
    if (it == entries_.end()) return;  // evicted meanwhile: its waiters went with it
    Entry& entry = it->second;
    // Every waiter asked before this answer came: it is as fresh as what they asked for. Those
    // that want more than it holds wait for the larger read still in flight.
    bool whole_list = answer->ok && answer->events.size() < asked;
    std::vector<Waiter> waiting;
    for (auto& waiter : entry.waiters) {
      if (!answer->ok || whole_list || waiter.limit <= asked) served.push_back(std::move(waiter));
      else waiting.push_back(std::move(waiter));
    }
    entry.waiters = std::move(waiting);
    if (entry.asking == asked) entry.asking = 0;
    if (answer->ok && (!entry.answer || generation >= entry.generation)) {
      bytes_ -= cost(entry.answer);
      entry.answer = answer;
      entry.generation = generation;
      entry.asked = asked;
      bytes_ += cost(entry.answer);
      evict_for(category);
    }
  }
  for (auto& waiter : served)
    boost::asio::post(waiter.executor, [callback = std::move(waiter.callback), answer] {
      callback(answer);
    });
}

void RecentCache::evict_for(const std::string& kept) {
  // Stale answers first, then any other: a category asked for again is read again.
  for (bool stale_only : {true, false}) {
    for (auto it = entries_.begin(); bytes_ > max_bytes_ && it != entries_.end();) {
      bool evictable = it->first != kept && it->second.waiters.empty() && it->second.asking == 0 &&
                       (!stale_only || it->second.generation != generation_);
      if (!evictable) {
        ++it;
        continue;
      }
      bytes_ -= cost(it->second.answer);
      it = entries_.erase(it);
    }
  }
}

void RecentCache::invalidate() {
  std::lock_guard lock(mutex_);
  ++generation_;
}

std::size_t RecentCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace newspush

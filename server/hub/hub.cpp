#include "server/hub/hub.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>

#include "server/log.hpp"

namespace newspush {

void Worker::enqueue(EventPtr event) {
  {
    std::lock_guard lock(pending_mutex_);
    pending_.push_back(std::move(event));
    if (drain_posted_) return;
    drain_posted_ = true;
  }
  boost::asio::post(context_, [this] { drain(); });
}

// Corking: a connection that gets several events of one batch writes them as one frame with one
// system call, instead of one per event. An event that arrives alone is written at once, so
// batching only happens when the worker is already behind, and adds no latency.
void Worker::drain() {
  {
    std::lock_guard lock(pending_mutex_);
    batch_.swap(pending_);
    drain_posted_ = false;
  }
  corked_ = true;
  std::size_t delivered = 0;
  for (const auto& event : batch_) delivered += fan_out(event);
  corked_ = false;
  flush_deferred();
  // Once per batch: every recipient has handed its write to the socket by now.
  if (delivered > 0) {
    auto now = std::chrono::steady_clock::now();
    for (const auto& event : batch_) counters_.fanout_latency.observe(now - event->received);
  }
  batch_.clear();
}

std::size_t Worker::fan_out(const EventPtr& event) {
  if (event->cursor) set_head(event->cursor);
  auto n = index_.for_each_recipient(event->category, event->breaking,
                                     [&event](Connection* c) { c->deliver(event); });
  counters_.deliveries.add(n);
  return n;
}

void Worker::flush_deferred() {
  for (auto* c : to_flush_) c->flush();
  to_flush_.clear();
}

void Worker::fan_out_trending(const TrendingPtr& list) {
  // Corked too: a connection may write at once (a direct send), and one whose socket failed
  // would leave the index while it is walked.
  corked_ = true;
  trending_[list->category] = list;
  index_.for_each_listed(list->category, [&list](Connection* c) { c->deliver_trending(list); });
  // Those who also get it through their categories were served above.
  trending_requests_.for_each(list->category, [this, &list](Connection* c) {
    if (!index_.is_listed(c, list->category)) c->deliver_trending(list);
  });
  corked_ = false;
  flush_deferred();
}

std::vector<std::string> Worker::trending_lists_of(Connection* c) const {
  auto lists = index_.listed_categories(c);
  auto requested = trending_requests_.keys_of(c);
  lists.insert(lists.end(), requested.begin(), requested.end());
  std::sort(lists.begin(), lists.end());
  lists.erase(std::unique(lists.begin(), lists.end()), lists.end());
  return lists;
}

TrendingPtr Worker::trending(std::string_view category) const {
  auto it = trending_.find(std::string(category));
  return it == trending_.end() ? nullptr : it->second;
}

void Worker::set_head(std::optional<protocol::Cursor> head) {
  if (!head || (head_ && head->is_at_or_before(*head_))) return;
  head_ = std::move(head);
  head_text_ = protocol::to_string(*head_);
}

void Worker::shut_down_connections() {
  // Copy: shutting a connection down may unregister it.
  auto connections = index_.connections();
  for (auto* c : connections) c->shut_down();
}

Hub::Hub(unsigned threads, Metrics& metrics) {
  for (unsigned i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<Worker>());
    metrics.worker_subscriptions.push_back(&workers_.back()->subscriptions());
    metrics.worker_counters.push_back(&workers_.back()->counters());
  }
}

Hub::~Hub() { stop(); }

void Hub::start() {
  for (auto& worker : workers_) {
    guards_.emplace_back(worker->context_.get_executor());
    worker->thread_ = std::thread([w = worker.get()] {
      try {
        w->context_.run();
      } catch (const std::exception& e) {
        log_event(LogLevel::error, "worker.crashed", {{"error", e.what()}});
        std::abort();
      }
    });
  }
}

void Hub::stop() {
  guards_.clear();
  for (auto& worker : workers_) worker->context_.stop();
  for (auto& worker : workers_)
    if (worker->thread_.joinable()) worker->thread_.join();
}

Worker& Hub::next_worker() {
  Worker& worker = *workers_[next_];
  next_ = (next_ + 1) % workers_.size();
  return worker;
}

void Hub::set_head(const std::string& head) {
  auto cursor = protocol::parse_cursor(head);
  if (!cursor) return;
  for (auto& worker : workers_)
    boost::asio::post(worker->context_, [w = worker.get(), cursor] { w->set_head(cursor); });
}

void Hub::publish(EventPtr event) {
  for (auto& worker : workers_) worker->enqueue(event);
}

void Hub::publish_trending(TrendingPtr list) {
  for (auto& worker : workers_)
    boost::asio::post(worker->context_, [w = worker.get(), list] { w->fan_out_trending(list); });
}

void Hub::shut_down_connections() {
  for (auto& worker : workers_)
    boost::asio::post(worker->context_, [w = worker.get()] { w->shut_down_connections(); });
}

}  // namespace newspush

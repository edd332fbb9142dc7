#pragma once
// N worker threads, each with its own io_context, its own connections and its own subscription
// index. An article crosses threads once per worker (one post), never once per subscriber.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/hub/connection.hpp"
#include "server/hub/event.hpp"
#include "server/hub/keyed_index.hpp"
#include "server/hub/subscription_index.hpp"
#include "server/metrics.hpp"

namespace newspush {

class Worker {
 public:
  boost::asio::io_context& context() { return context_; }
  // Only on this worker's thread.
  SubscriptionIndex<Connection>& index() { return index_; }
  // Trending lists asked for beyond those of a connection's article categories.
  KeyedIndex<Connection>& trending_requests() { return trending_requests_; }
  // This worker's subscriptions per category, for /metrics (summed over workers at scrape time).
  SubscriptionGauge& subscriptions() { return subscriptions_; }
  // This worker's per-delivery and per-write counters: only this worker's thread writes them.
  WorkerCounters& counters() { return counters_; }
  // The trending lists a connection receives: those of the categories it is listed under, and
  // those it asked for. Sorted, no duplicates.
  std::vector<std::string> trending_lists_of(Connection* c) const;
  // The newest list of a category this worker has (null: none yet).
  TrendingPtr trending(std::string_view category) const;
  // From any thread: queue an event for this worker. Events queued while the worker is busy are
  // fanned out together, and each connection then writes them in one go (see drain).
  void enqueue(EventPtr event);
  // True while a batch of events or a trending list is fanned out: connections queue without
  // writing (a failed write would take one out of the index being walked), and
  // ask to be flushed once the batch is done.
  bool corked() const { return corked_; }
  void defer_flush(Connection* c) { to_flush_.push_back(c); }
  void fan_out_trending(const TrendingPtr& list);
  void shut_down_connections();
  // The newest history position this worker has fanned out (empty before the history is known):
  // what a new subscriber is told, since every later event will reach it live.
  const std::string& head() const { return head_text_; }
  void set_head(std::optional<protocol::Cursor> head);

 private:
  friend class Hub;
  void drain();
  // Writes what connections deferred while the worker was corked.
  void flush_deferred();
  std::size_t fan_out(const EventPtr& event);

  WorkerCounters counters_;
  SubscriptionGauge subscriptions_;
  std::mutex pending_mutex_;
  std::vector<EventPtr> pending_;  // guarded by pending_mutex_
  bool drain_posted_ = false;      // guarded by pending_mutex_
  std::vector<EventPtr> batch_;    // worker thread only, like everything below
  std::vector<Connection*> to_flush_;
  bool corked_ = false;
  // Declared before the context: handlers destroyed with the context may still unregister.
  SubscriptionIndex<Connection> index_;
  KeyedIndex<Connection> trending_requests_;
  std::unordered_map<std::string, TrendingPtr> trending_;
  std::optional<protocol::Cursor> head_;
  std::string head_text_;
  boost::asio::io_context context_{1};
  std::thread thread_;
};

class Hub {
 public:
  Hub(unsigned threads, Metrics& metrics);
  ~Hub();

  void start();
  // Stops every worker loop and joins the threads.
  void stop();

  // The worker a new connection goes to (round robin). Called from the accepting thread.
  Worker& next_worker();
  // From any thread: hands the event to every worker, in call order.
  void publish(EventPtr event);
  // From any thread: a trending list for every worker, which keeps it and passes it on.
  void publish_trending(TrendingPtr list);
  // From any thread: the position new subscribers are told about, when no event carried it.
  void set_head(const std::string& head);
  // Asks every worker to close its connections with 1001.
  void shut_down_connections();

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::size_t next_ = 0;
};

}  // namespace newspush

// A worker fanning articles out while connections leave: a connection that decides to close
// while it is being delivered to leaves after the walk (as sessions do), every other recipient
// still gets each article exactly once, and one that left gets nothing more.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/hub/hub.hpp"

namespace newspush {
namespace {

struct CountingConnection : Connection {
  explicit CountingConnection(Worker& w) : worker(w) {}
  Worker& worker;
  bool leave_on_delivery = false;
  bool left = false;
  std::map<std::string, int> received;  // frame -> times

  void deliver(const EventPtr& event) override {
    ++received[event->frame];
    if (leave_on_delivery && !left) {
      left = true;
      // What a session that must close does: it leaves the index later, on its own thread.
      boost::asio::post(worker.context(), [this] { worker.index().remove(this); });
    }
  }
  void deliver_trending(const TrendingPtr&) override {}
  void flush() override {}
  void shut_down() override {}
};

EventPtr article(std::string category, std::string frame, bool breaking = false) {
  auto event = std::make_shared<ArticleEvent>();
  event->category = std::move(category);
  event->frame = std::move(frame);
  event->breaking = breaking;
  return event;
}

class WorkerFanOut : public ::testing::Test {
 protected:
  CountingConnection& join(const std::vector<std::string>& categories) {
    connections.push_back(std::make_unique<CountingConnection>(worker));
    auto& c = *connections.back();
    worker.index().add(&c);
    for (const auto& category : categories) worker.index().subscribe(&c, category);
    return c;
  }
  // Runs everything queued on the worker, as its thread would.
  void run() {
    worker.context().restart();
    worker.context().poll();
  }
  Worker worker;
  std::vector<std::unique_ptr<CountingConnection>> connections;
};

TEST_F(WorkerFanOut, LeavingDuringTheWalkTakesEffectAfterIt) {
  for (int i = 0; i < 1000; ++i) {
    auto& c = join({i % 7 == 0 ? "*" : "sports"});
    c.leave_on_delivery = i % 3 == 0;  // a third leave, from the front, middle and back
  }
  // Two articles in one batch: the leavers are still listed for the second.
  worker.enqueue(article("sports", "one"));
  worker.enqueue(article("sports", "two"));
  run();
  for (const auto& c : connections) {
    EXPECT_EQ(c->received["one"], 1);
    EXPECT_EQ(c->received["two"], 1);
  }
  EXPECT_EQ(worker.index().connections().size(), 1000u - 334u);
  EXPECT_EQ(worker.counters().deliveries.load(), 2000u);  // this worker's own count
  Metrics metrics;
  metrics.worker_counters = {&worker.counters()};
  EXPECT_NE(render_prometheus(metrics).find("\nnewspush_fanout_latency_seconds_count 2\n"),
            std::string::npos);

  worker.enqueue(article("sports", "three"));
  worker.enqueue(article("culture", "breaking", true));
  run();
  for (const auto& c : connections) {
    EXPECT_EQ(c->received["three"], c->left ? 0 : 1);
    EXPECT_EQ(c->received["breaking"], c->left ? 0 : 1);
  }
}

TEST_F(WorkerFanOut, EveryoneLeavingAtOnceEmptiesTheIndex) {
  for (int i = 0; i < 500; ++i) join({"sports", "culture"}).leave_on_delivery = true;
  worker.enqueue(article("culture", "last", true));
  run();
  for (const auto& c : connections) EXPECT_EQ(c->received["last"], 1);
  EXPECT_TRUE(worker.index().connections().empty());
  EXPECT_TRUE(worker.index().listed_counts().empty());
}

// A worker's worth of connections, two of eight categories each, a third of them gone: each
// category's article reaches exactly its remaining subscribers.
TEST_F(WorkerFanOut, ManyConnectionsAfterManyLeave) {
  const std::vector<std::string> categories = {"a", "b", "c", "d", "e", "f", "g", "h"};
  constexpr int kConnections = 20'000;
  for (int i = 0; i < kConnections; ++i) join({categories[i % 8], categories[(i / 8 + i) % 8]});
  for (int i = 0; i < kConnections; i += 3) worker.index().remove(connections[i].get());
  for (const auto& category : categories) worker.enqueue(article(category, category));
  run();
  for (int i = 0; i < kConnections; ++i) {
    const auto& c = *connections[i];
    bool gone = i % 3 == 0;
    for (const auto& category : categories) {
      bool subscribed = category == categories[i % 8] || category == categories[(i / 8 + i) % 8];
      auto it = c.received.find(category);
      ASSERT_EQ(it == c.received.end() ? 0 : it->second, !gone && subscribed ? 1 : 0)
          << "connection " << i << ", category " << category;
    }
  }
}

}  // namespace
}  // namespace newspush

#include "server/history/live_feed.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <deque>

#include "server/history/event_factory.hpp"

namespace newspush {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// LiveFeed's injected history read, answering like newspush_read over a stream whose event n has
// the cursor "ep:<n>-0". A read is answered from the stream as it was when the read was sent (as
// Redis runs it then), but its reply reaches LiveFeed only when the test says: live events can
// arrive in between, which is the race LiveFeed exists for.
class StreamHistory {
 public:
  EventPtr publish() {
    auto n = std::to_string(stream_.size() + 1);
    auto built =
        build_history_event("ep:" + n + "-0", "article",
                            R"({"id":"a)" + n + R"(","category":"sports","title":"T"})", 1 << 16);
    EXPECT_TRUE(built.event);
    stream_.push_back(built.event);
    return built.event;
  }
  // Entries older than n are gone (XTRIM).
  void trim_before(std::uint64_t n) { first_kept_ = n; }
  void fail_next_read() { fail_next_ = true; }

  void read_after(const std::string& cursor, History::ReadCallback callback) {
    reads_.push_back(cursor);
    HistoryRead read;
    if (fail_next_) {
      fail_next_ = false;
      read.error = "connection lost";
      pending_.push_back({std::move(read), std::move(callback)});
      return;
    }
    read.ok = true;
    read.head = "ep:" + std::to_string(stream_.size()) + "-0";
    if (!cursor.empty()) {
      auto after = protocol::parse_cursor(cursor);
      if (!after || after->epoch != "ep") {
        read.reset_reason = "unknown_cursor";
      } else if (after->ms + 1 < first_kept_) {
        read.reset_reason = "cursor_too_old";  // the entry right after it was trimmed
      } else {
        for (const auto& event : stream_)
          if (event->cursor->is_after(*after)) read.events.push_back(event);
      }
    }
    pending_.push_back({std::move(read), std::move(callback)});
  }

  bool answer() {
    if (pending_.empty()) return false;
    auto next = std::move(pending_.front());
    pending_.pop_front();
    next.callback(std::move(next.read));
    return true;
  }
  void answer_all() {
    while (answer()) {
    }
  }

  const std::vector<std::string>& reads() const { return reads_; }
  std::size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    HistoryRead read;
    History::ReadCallback callback;
  };
  std::vector<EventPtr> stream_;
  std::uint64_t first_kept_ = 1;
  bool fail_next_ = false;
  std::vector<std::string> reads_;
  std::deque<Pending> pending_;
};

class LiveFeedTest : public ::testing::Test {
 protected:
  // A bound of one byte holds a single event: every live event during a catch-up overflows.
  void make_feed(std::size_t max_held_bytes = 1) {
    feed_ = std::make_unique<LiveFeed>(
        io_.get_executor(),
        [this](const std::string& cursor, History::ReadCallback callback) {
          history_.read_after(cursor, std::move(callback));
        },
        LiveFeed::Handlers{
            [this](EventPtr event) { seen_.push_back(std::to_string(event->cursor->ms)); },
            [this](const std::string& reason, const std::string& head) {
              seen_.push_back("reset " + reason + " " + head);
            },
            [this](const std::string& head) { caught_up_.push_back(head); },
            [this](LogLevel, std::string_view event, LogFields) { logs_.emplace_back(event); },
            [this] { ++overflows_; }},
        max_held_bytes);
  }

  // First start on a stream of two events, then one live event: the node stands at ep:3-0.
  void start_at_three() {
    make_feed();
    history_.publish();
    history_.publish();
    feed_->on_subscribed();
    history_.answer_all();
    feed_->on_event(history_.publish());
    ASSERT_THAT(seen_, ElementsAre("3"));
    ASSERT_FALSE(feed_->catching_up());
  }

  void live(int n) {
    for (int i = 0; i < n; ++i) feed_->on_event(history_.publish());
  }

  boost::asio::io_context io_;  // declared first: outlives the feed's timer
  StreamHistory history_;
  std::unique_ptr<LiveFeed> feed_;
  std::vector<std::string> seen_;
  std::vector<std::string> caught_up_;
  std::vector<std::string> logs_;
  int overflows_ = 0;
};

TEST_F(LiveFeedTest, OverflowDuringCatchUpReadsAgainFromTheLastDeliveredCursor) {
  start_at_three();
  history_.publish();  // 4 and 5 are published during the outage: only the history has them
  history_.publish();
  feed_->on_subscribed();
  EXPECT_EQ(history_.reads().back(), "ep:3-0");
  live(4);  // 6..9 arrive live before the read's reply (which stops at 5): 6..8 are dropped
  EXPECT_GE(overflows_, 1);
  ASSERT_TRUE(history_.answer());
  EXPECT_THAT(seen_, ElementsAre("3", "4", "5"));
  EXPECT_TRUE(feed_->catching_up());
  EXPECT_EQ(history_.reads().back(), "ep:5-0");  // on from the last delivered, not from scratch
  live(1);  // 10 arrives during the second read: drops 9, so a third read follows
  history_.answer_all();
  EXPECT_THAT(seen_, ElementsAre("3", "4", "5", "6", "7", "8", "9", "10"));
  EXPECT_FALSE(feed_->catching_up());
  EXPECT_EQ(caught_up_.back(), "ep:10-0");
  live(1);
  EXPECT_THAT(seen_, ElementsAre("3", "4", "5", "6", "7", "8", "9", "10", "11"));
  EXPECT_EQ(feed_->held_overflows(), static_cast<std::size_t>(overflows_));
  EXPECT_EQ(logs_.size(), 1u) << "one warning per catch-up, not per drop";
}

TEST_F(LiveFeedTest, DroppedEventsTrimmedFromTheHistoryResetTheClients) {
  start_at_three();
  history_.publish();
  history_.publish();
  feed_->on_subscribed();
  live(4);                  // 6..8 dropped, 9 held
  history_.trim_before(8);  // 6 and 7 are gone from the history too
  history_.answer_all();
  // The gap after 5 is announced, never skipped; what was held follows, as after any reset.
  EXPECT_THAT(seen_, ElementsAre("3", "4", "5", "reset cursor_too_old ep:9-0", "9"));
  EXPECT_FALSE(feed_->catching_up());
  live(1);
  EXPECT_EQ(seen_.back(), "10");
}

TEST_F(LiveFeedTest, OverflowWhileTheReadResetsContinuesFromTheAnnouncedHead) {
  start_at_three();
  for (int i = 0; i < 4; ++i) history_.publish();  // 4..7 during the outage, then trimmed
  history_.trim_before(6);
  feed_->on_subscribed();  // answered: reset, head ep:7-0
  live(3);                 // 8 and 9 dropped, 10 held
  history_.answer_all();
  // The clients were told to continue after ep:7-0: 8 and 9 must still reach them.
  EXPECT_THAT(seen_, ElementsAre("3", "reset cursor_too_old ep:7-0", "8", "9", "10"));
  EXPECT_EQ(history_.reads().back(), "ep:7-0");
  EXPECT_FALSE(feed_->catching_up());
}

TEST_F(LiveFeedTest, FailedReadAfterOverflowRetriesFromTheLastCursorNotFromScratch) {
  start_at_three();
  history_.publish();
  history_.fail_next_read();
  feed_->on_subscribed();
  live(3);                         // 5 and 6 dropped, 7 held
  ASSERT_TRUE(history_.answer());  // the failure: a retry is scheduled
  EXPECT_THAT(seen_, ElementsAre("3"));
  feed_->retry_now();
  EXPECT_EQ(history_.reads().back(), "ep:3-0");
  history_.answer_all();
  EXPECT_THAT(seen_, ElementsAre("3", "4", "5", "6", "7"));
  EXPECT_FALSE(feed_->catching_up());
}

TEST_F(LiveFeedTest, OverflowOnFirstStartDeliversWhatWasHeldSinceNothingPrecedesIt) {
  make_feed();
  history_.publish();
  feed_->on_subscribed();  // no position: reads just the head
  EXPECT_EQ(history_.reads().back(), "");
  live(3);
  history_.answer_all();
  EXPECT_THAT(seen_, ElementsAre("2", "3", "4"));
  EXPECT_EQ(caught_up_.back(), "ep:4-0");
  EXPECT_EQ(history_.pending(), 0u);
}

TEST_F(LiveFeedTest, TheBoundIsInBytes) {
  // Room for a few small events: a normal catch-up holds them all, drops nothing, reads once.
  make_feed(4096);
  history_.publish();
  feed_->on_subscribed();
  history_.answer_all();
  feed_->on_subscribed();
  live(5);
  history_.answer_all();
  EXPECT_THAT(seen_, ElementsAre("2", "3", "4", "5", "6"));
  EXPECT_EQ(overflows_, 0);
  EXPECT_THAT(logs_, IsEmpty());
  EXPECT_EQ(history_.reads().size(), 2u);
  // Events whose frames together pass the bound overflow, however few they are.
  feed_->on_subscribed();
  for (int i = 0; i < 3; ++i) {
    auto big = std::make_shared<ArticleEvent>(*history_.publish());
    big->frame.assign(2000, 'x');
    feed_->on_event(big);
  }
  EXPECT_GE(overflows_, 1);
  history_.answer_all();
  EXPECT_THAT(seen_, ElementsAre("2", "3", "4", "5", "6", "7", "8", "9"));
}

}  // namespace
}  // namespace newspush

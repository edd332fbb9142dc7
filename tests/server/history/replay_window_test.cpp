#include "server/history/replay_window.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace newspush {
namespace {

using Outcome = ReplayWindow::Outcome;

// Event n of epoch "ep" has the cursor "ep:<n>-0" and a frame of `size` bytes.
EventPtr event(std::uint64_t n, std::string category = "sports", std::size_t size = 100,
               std::string epoch = "ep") {
  auto e = std::make_shared<ArticleEvent>();
  e->category = std::move(category);
  e->cursor = protocol::Cursor{std::move(epoch), n, 0};
  e->frame = std::string(size, 'x');
  return e;
}

protocol::Cursor at(std::uint64_t n, std::string epoch = "ep") { return {std::move(epoch), n, 0}; }

bool everything(const ArticleEvent&) { return true; }

std::vector<std::uint64_t> numbers(const ReplayWindow::Replay& replay) {
  std::vector<std::uint64_t> out;
  for (const auto& e : replay.events) out.push_back(e->cursor->ms);
  return out;
}

// Makes `window` stand at `floor`, then receive events floor+1..last.
void fill(ReplayWindow& window, std::uint64_t floor, std::uint64_t last) {
  window.stand_at(at(floor));
  for (auto n = floor + 1; n <= last; ++n) window.append(event(n));
}

TEST(ReplayWindow, ReplaysEverythingAfterACursorItHolds) {
  ReplayWindow window({1 << 20});
  fill(window, 10, 20);
  auto replay = window.after(at(15), {}, everything);
  EXPECT_EQ(replay.outcome, Outcome::replayed);
  EXPECT_THAT(numbers(replay), ::testing::ElementsAre(16, 17, 18, 19, 20));
  EXPECT_EQ(replay.up_to, at(20));
  // From its floor: all of it; from its newest: nothing, but served.
  EXPECT_EQ(window.after(at(10), {}, everything).events.size(), 10u);
  auto none = window.after(at(20), {}, everything);
  EXPECT_EQ(none.outcome, Outcome::replayed);
  EXPECT_TRUE(none.events.empty());
}

TEST(ReplayWindow, SendsOnlyWhatTheClientWantsButCountsEverythingAfterTheCursor) {
  ReplayWindow window({1 << 20});
  window.stand_at(at(0));
  for (std::uint64_t n = 1; n <= 10; ++n) window.append(event(n, n % 2 ? "sports" : "culture"));
  auto sports = window.after(at(0), {}, [](const ArticleEvent& e) { return e.category == "sports"; });
  EXPECT_THAT(numbers(sports), ::testing::ElementsAre(1, 3, 5, 7, 9));
  EXPECT_EQ(sports.up_to, at(10));  // the replay covers the culture events too
  ReplayLimits limits;
  limits.max_events = 9;
  EXPECT_EQ(window.after(at(0), limits, [](const ArticleEvent&) { return false; }).outcome,
            Outcome::too_long);
  limits.max_events = 10;
  EXPECT_EQ(window.after(at(0), limits, everything).outcome, Outcome::replayed);
}

TEST(ReplayWindow, PastTheByteLimitTheReplayIsTooLong) {
  ReplayWindow window({1 << 20});
  fill(window, 0, 10);  // 100-byte frames
  ReplayLimits limits;
  limits.max_bytes = 999;
  auto replay = window.after(at(0), limits, everything);
  EXPECT_EQ(replay.outcome, Outcome::too_long);
  EXPECT_TRUE(replay.events.empty());
  EXPECT_EQ(replay.up_to, at(10));  // where the client carries on after its reset
  limits.max_bytes = 1000;
  EXPECT_EQ(window.after(at(0), limits, everything).outcome, Outcome::replayed);
}

TEST(ReplayWindow, CursorsItDoesNotHoldAreForTheHistory) {
  ReplayWindow window({1 << 20});
  fill(window, 10, 20);
  EXPECT_EQ(window.after(at(9), {}, everything).outcome, Outcome::not_held);   // older
  EXPECT_EQ(window.after(at(21), {}, everything).outcome, Outcome::not_held);  // ahead of us
  EXPECT_EQ(window.after(at(15, "other"), {}, everything).outcome, Outcome::not_held);
  ReplayWindow empty({1 << 20});
  EXPECT_EQ(empty.after(at(1), {}, everything).outcome, Outcome::not_held);
}

TEST(ReplayWindow, HoldsAnswersAsAfterWouldWithoutReplaying) {
  ReplayWindow window({1 << 20});
  fill(window, 10, 20);
  for (std::uint64_t n : {9, 10, 15, 20, 21}) {
    bool held = window.after(at(n), {}, everything).outcome != Outcome::not_held;
    EXPECT_EQ(window.holds(at(n)), held) << n;
  }
  EXPECT_TRUE(window.holds(at(10)));
  EXPECT_FALSE(window.holds(at(9)));
  EXPECT_FALSE(window.holds(at(15, "other")));
  // Too long to replay is still held: the client is told to reset, no Redis read needed.
  ReplayLimits one;
  one.max_events = 1;
  EXPECT_EQ(window.after(at(10), one, everything).outcome, Outcome::too_long);
  EXPECT_TRUE(window.holds(at(10)));
  EXPECT_FALSE(ReplayWindow({1 << 20}).holds(at(1)));
}

TEST(ReplayWindow, StaysWithinItsBytesByForgettingTheOldest) {
  // Each event costs its frame plus the event itself: room for about three of 1000 bytes.
  ReplayWindow window({3 * (1000 + sizeof(ArticleEvent))});
  window.stand_at(at(0));
  for (std::uint64_t n = 1; n <= 10; ++n) window.append(event(n, "sports", 1000));
  EXPECT_EQ(window.size(), 3u);
  EXPECT_LE(window.bytes(), 3 * (1000 + sizeof(ArticleEvent)));
  EXPECT_EQ(window.after(at(6), {}, everything).outcome, Outcome::not_held);  // forgotten
  EXPECT_THAT(numbers(window.after(at(7), {}, everything)), ::testing::ElementsAre(8, 9, 10));
}

TEST(ReplayWindow, KeepsNoMoreEventsThanTheHistoryRetains) {
  ReplayWindow window({1 << 20, 5});
  fill(window, 0, 20);
  EXPECT_EQ(window.size(), 5u);
  // The history keeps 16..20 and knows 15 came before them: both answer the same from 15 on.
  EXPECT_EQ(window.after(at(14), {}, everything).outcome, Outcome::not_held);
  EXPECT_THAT(numbers(window.after(at(15), {}, everything)), ::testing::ElementsAre(16, 17, 18, 19, 20));
}

TEST(ReplayWindow, ForgetsEventsOlderThanTheHistoryKeepsThem) {
  ReplayWindow window({1 << 20, 100, std::chrono::seconds(60)});
  window.stand_at(at(0));
  auto old = std::make_shared<ArticleEvent>(*event(1));
  old->received -= std::chrono::seconds(61);
  window.append(old);
  window.append(event(2));
  EXPECT_EQ(window.size(), 1u);
  EXPECT_EQ(window.after(at(0), {}, everything).outcome, Outcome::not_held);
  EXPECT_THAT(numbers(window.after(at(1), {}, everything)), ::testing::ElementsAre(2));
}

TEST(ReplayWindow, AResetOrANewHistoryStartsAfresh) {
  ReplayWindow window({1 << 20});
  fill(window, 10, 20);
  window.clear();
  EXPECT_EQ(window.after(at(15), {}, everything).outcome, Outcome::not_held);
  // After a reset nothing precedes the first event: it becomes the floor.
  window.append(event(30));
  window.append(event(31));
  EXPECT_EQ(window.after(at(29), {}, everything).outcome, Outcome::not_held);
  EXPECT_THAT(numbers(window.after(at(30), {}, everything)), ::testing::ElementsAre(31));
  // An event of another epoch (Redis lost its data): nothing held leads to it.
  window.append(event(1, "sports", 100, "new"));
  window.append(event(2, "sports", 100, "new"));
  EXPECT_EQ(window.after(at(30), {}, everything).outcome, Outcome::not_held);
  EXPECT_THAT(numbers(window.after(at(1, "new"), {}, everything)), ::testing::ElementsAre(2));
}

TEST(ReplayWindow, StandingSomewhereElseThanItsNewestDropsWhatItHeld) {
  ReplayWindow window({1 << 20});
  fill(window, 10, 20);
  window.stand_at(at(20));  // where it is: nothing changes
  EXPECT_EQ(window.size(), 10u);
  window.stand_at(at(25));  // a gap: only what comes after 25 can be served
  EXPECT_EQ(window.size(), 0u);
  EXPECT_EQ(window.after(at(20), {}, everything).outcome, Outcome::not_held);
  EXPECT_EQ(window.after(at(25), {}, everything).outcome, Outcome::replayed);
}

TEST(ReplayWindow, EventsWithoutACursorAreNotHistory) {
  ReplayWindow window({1 << 20});
  fill(window, 0, 2);
  auto bare = std::make_shared<ArticleEvent>();
  bare->frame = "x";
  window.append(bare);
  EXPECT_EQ(window.size(), 2u);
}

}  // namespace
}  // namespace newspush

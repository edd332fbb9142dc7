// PushSession without a socket: what a reader's connection queues and writes, in which framing,
// around a resume served from the node's window, and when it is cut. A test transport records
// each batch and completes it when the test says so.
#include "server/net/push_session.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace newspush {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Event n of epoch "ep": cursor "ep:<n>-0", framed both ways as the event factory does.
EventPtr event(std::uint64_t n, std::string category = "sports", bool breaking = false,
               std::size_t padding = 0) {
  auto e = std::make_shared<ArticleEvent>();
  e->category = std::move(category);
  e->breaking = breaking;
  e->cursor = protocol::Cursor{"ep", n, 0};
  std::string cursor = protocol::to_string(*e->cursor);
  set_frames(*e,
             R"({"type":"article","cursor":")" + cursor + R"(","n":)" + std::to_string(n) +
                 R"(,"pad":")" + std::string(padding, 'p') + R"("})",
             cursor);
  return e;
}

class RecordingSession : public PushSession {
 public:
  RecordingSession(Worker& worker, ServerState& state, Framing framing)
      : PushSession(worker, state, framing, {}, {}), websocket_(framing == Framing::websocket) {}

  using PushSession::close_with;
  using PushSession::Framing;
  using PushSession::hold_until_first_command;
  using PushSession::on_first_command;
  using PushSession::start;
  using PushSession::subscribe;

  void shut_down() override { close_with(1001, "shutdown", CloseCause::shutdown); }

  // Completes the write in flight; false when there is none.
  bool complete_write(bool ok = true) {
    if (!writing) return false;
    writing = false;
    on_written(ok);
    return true;
  }
  // Completes writes until nothing is in flight.
  void drain_writes() {
    while (complete_write()) {
    }
  }
  // Every message written so far, in order (a WebSocket frame's payload, checked to be one
  // whole text frame).
  std::vector<std::string> frames;
  std::vector<std::size_t> batch_sizes;
  bool writing = false;
  // As a socket with room does: every batch written at once, from write_batch itself.
  bool writes_at_once = false;
  bool close_sent = false;
  bool aborted = false;

 private:
  bool write_batch(const std::vector<SharedFrame>& batch) override {
    writing = true;
    batch_sizes.push_back(batch.size());
    for (const auto& frame : batch) {
      if (!websocket_) {
        frames.push_back(*frame);
        continue;
      }
      std::string_view payload = websocket_payload(*frame);
      EXPECT_EQ(frame->front(), '\x81') << "not a final text frame";
      EXPECT_EQ(websocket_text_frame(payload), *frame);
      frames.emplace_back(payload);
    }
    if (writes_at_once) writing = false;
    return writes_at_once;  // else completed by complete_write
  }
  void send_close() override { close_sent = true; }
  void abort() override { aborted = true; }

  bool websocket_;
};

class PushSessionTest : public ::testing::Test {
 protected:
  PushSessionTest() {
    state_.session.max_send_queue = 64 * 1024;
    state_.session.max_categories = 8;
    state_.window = std::make_unique<ReplayWindow>(ReplayWindow::Bounds{});
    state_.history_reads = std::make_unique<ReadSlots>(1);
    state_.window->stand_at({"ep", 0, 0});
  }

  std::shared_ptr<RecordingSession> open(RecordingSession::Framing framing) {
    auto session = std::make_shared<RecordingSession>(worker_, state_, framing);
    session->start();
    return session;
  }
  // As the control thread does: into the window, then to the worker's connections.
  void publish(const EventPtr& e) {
    state_.window->append(e);
    worker_.index().for_each_recipient(e->category, e->breaking,
                                       [&](Connection* c) { c->deliver(e); });
  }

  ServerState state_;
  Worker worker_;
};

std::vector<std::string> types_of(const std::vector<std::string>& frames) {
  std::vector<std::string> types;
  for (const auto& frame : frames) types.emplace_back(protocol::message_type(frame));
  return types;
}

TEST_F(PushSessionTest, AWebSocketReaderGetsTheMessageAndAnSseReaderTheSameAsAnEvent) {
  auto ws = open(RecordingSession::Framing::websocket);
  auto sse = open(RecordingSession::Framing::sse);
  ws->subscribe({{"sports"}, std::nullopt, {}});
  sse->subscribe({{"sports"}, std::nullopt, {}});
  ws->drain_writes();
  sse->drain_writes();
  auto e = event(1);
  publish(e);
  ws->drain_writes();
  sse->drain_writes();
  ASSERT_EQ(ws->frames.size(), 2u);
  ASSERT_EQ(sse->frames.size(), 2u);
  EXPECT_THAT(ws->frames[0], StartsWith(R"({"type":"subscribed")"));
  EXPECT_THAT(sse->frames[0], StartsWith("event: subscribed\n"));
  EXPECT_EQ(ws->frames[1], e->message());
  EXPECT_EQ(sse->frames[1], "event: article\nid: ep:1-0\ndata: " + std::string(e->message()) + "\n\n");
}

TEST_F(PushSessionTest, WhatArrivesDuringAWriteGoesOutTogetherInTheNextOne) {
  auto session = open(RecordingSession::Framing::websocket);
  session->subscribe({{"sports"}, std::nullopt, {}});  // "subscribed" is in flight
  publish(event(1));
  publish(event(2));
  publish(event(3, "culture"));  // not subscribed
  session->drain_writes();
  EXPECT_THAT(session->batch_sizes, ElementsAre(1u, 2u));
  EXPECT_THAT(types_of(session->frames), ElementsAre("subscribed", "article", "article"));
}

TEST_F(PushSessionTest, AResumeFromTheWindowReplaysThenGoesLiveWithoutADuplicateAtTheSeam) {
  for (std::uint64_t n = 1; n <= 4; ++n) state_.window->append(event(n, n == 3 ? "culture" : "sports"));
  auto session = open(RecordingSession::Framing::sse);
  session->hold_until_first_command();
  // Breaking news that arrives before the first command waits for it.
  auto breaking = event(5, "culture", true);
  publish(breaking);
  EXPECT_TRUE(session->frames.empty());
  session->on_first_command(/*resumes=*/true);
  session->subscribe({{"sports"}, std::string("ep:1-0"), {}});
  // An event the replay already carried may still come live (two Redis connections): skipped.
  worker_.index().for_each_recipient("sports", false, [&](Connection* c) { c->deliver(event(4)); });
  publish(event(6));
  session->drain_writes();
  std::vector<std::string> ids;
  for (const auto& frame : session->frames) {
    auto at = frame.find("id: ");
    ids.push_back(at == std::string::npos ? "" : frame.substr(at + 4, frame.find('\n', at) - at - 4));
  }
  EXPECT_THAT(ids, ElementsAre("ep:1-0", "ep:2-0", "ep:4-0", "ep:5-0", "ep:5-0", "ep:6-0"));
  EXPECT_THAT(session->frames[4], StartsWith("event: resumed\n"));
  EXPECT_THAT(session->frames[4], HasSubstr(R"("replayed":3)"));
}

TEST_F(PushSessionTest, ALongReplayWrittenAtOnceGoesOutInOrderOnceWithoutRecursion) {
  // Each event fills half the queue's bound: the replay is pumped one event at a time, each
  // batch written by the transport before write_batch returns.
  state_.session.max_send_queue = 4096;
  const std::size_t padding = state_.session.max_send_queue / 2;
  constexpr std::uint64_t kEvents = 2000;
  state_.window = std::make_unique<ReplayWindow>(ReplayWindow::Bounds{1ull << 30, kEvents * 2});
  state_.window->stand_at({"ep", 0, 0});
  for (std::uint64_t n = 1; n <= kEvents; ++n) state_.window->append(event(n, "sports", false, padding));
  state_.session.replay.max_events = kEvents * 2;
  state_.session.replay.max_bytes = 1ull << 30;
  auto session = open(RecordingSession::Framing::websocket);
  session->writes_at_once = true;
  session->subscribe({{"sports"}, std::string("ep:0-0"), {}});
  publish(event(kEvents + 1));
  EXPECT_FALSE(session->writing);
  std::vector<std::string> articles;
  for (const auto& frame : session->frames) {
    if (protocol::message_type(frame) != "article") continue;
    auto at = frame.find(R"("n":)");
    articles.push_back(frame.substr(at + 4, frame.find(',', at) - at - 4));
  }
  ASSERT_EQ(articles.size(), kEvents + 1);
  for (std::uint64_t n = 1; n <= kEvents + 1; ++n) EXPECT_EQ(articles[n - 1], std::to_string(n));
}

TEST_F(PushSessionTest, ASecondResumeOnAConnectionIsRefused) {
  auto session = open(RecordingSession::Framing::websocket);
  session->subscribe({{"sports"}, std::string("ep:0-0"), {}});
  session->subscribe({{"culture"}, std::string("ep:0-0"), {}});
  session->drain_writes();
  EXPECT_THAT(session->frames.back(), HasSubstr(R"("code":"bad_since")"));
}

TEST_F(PushSessionTest, AReaderPastTheQueueBoundIsCutAndItsQueueDropped) {
  auto session = open(RecordingSession::Framing::sse);
  session->subscribe({{"sports"}, std::nullopt, {}});  // in flight, never completed: a stalled reader
  for (std::uint64_t n = 1; n <= 20 && !session->close_sent; ++n) publish(event(n, "sports", false, 8000));
  EXPECT_FALSE(session->close_sent);  // the close waits for the write in flight
  EXPECT_EQ(state_.metrics.connections_closed[static_cast<std::size_t>(CloseCause::slow_consumer)].load(), 1u);
  session->complete_write();
  EXPECT_TRUE(session->close_sent);
  EXPECT_EQ(session->frames.size(), 1u);  // nothing of the dropped queue was written
  EXPECT_EQ(worker_.counters().send_queue_bytes.load(), 0) << "the dropped queue is not counted";
}

TEST_F(PushSessionTest, TheSendQueueGaugeCountsWhatWaitsBehindTheWriteInFlight) {
  auto session = open(RecordingSession::Framing::websocket);
  session->subscribe({{"sports"}, std::nullopt, {}});  // its reply in flight, not completed
  auto first = event(1);
  auto second = event(2, "sports", false, 3000);
  publish(first);
  publish(second);
  EXPECT_EQ(worker_.counters().send_queue_bytes.load(),
            static_cast<std::int64_t>(first->frame.size() + second->frame.size()));
  session->drain_writes();
  EXPECT_EQ(worker_.counters().send_queue_bytes.load(), 0);
  EXPECT_THAT(types_of(session->frames), ElementsAre("subscribed", "article", "article"));
}

TEST_F(PushSessionTest, AServerCloseFlushesWhatIsQueuedFirst) {
  auto session = open(RecordingSession::Framing::websocket);
  session->subscribe({{"sports"}, std::nullopt, {}});
  publish(event(1));
  session->shut_down();
  EXPECT_FALSE(session->close_sent);
  session->drain_writes();
  EXPECT_TRUE(session->close_sent);
  EXPECT_THAT(types_of(session->frames), ElementsAre("subscribed", "article"));
  publish(event(2));  // closing: nothing more is queued
  EXPECT_FALSE(session->complete_write());
}

}  // namespace
}  // namespace newspush

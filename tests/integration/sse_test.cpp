// GET /sse: Server-Sent Events streams of the same news, resumes and limits as WebSocket.
// Real redis-server, real newspushd processes, readers on bare TCP sockets (and curl).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/articles.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;

const std::string kKey = "sse-test-key-0123456789";

std::vector<std::string> article_ids(const std::vector<SseEvent>& events) {
  std::vector<std::string> ids;
  for (const auto& event : events) ids.push_back(event.json().at("article").at("id").get<std::string>());
  return ids;
}

class SseTest : public ::testing::Test {
 protected:
  std::unique_ptr<NewspushdProcess> start_node(std::vector<std::string> args = {}) {
    auto node = std::make_unique<NewspushdProcess>(redis_.url(), std::move(args));
    EXPECT_TRUE(node->wait_ready()) << node->output();
    return node;
  }
  // A stream whose `subscribed` event has arrived: every later event reaches it.
  std::unique_ptr<SseClient> open_stream(std::uint16_t port, const std::string& target,
                                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto client = std::make_unique<SseClient>(port, target, std::move(headers));
    EXPECT_EQ(client->status(), 200) << client->raw();
    EXPECT_TRUE(client->next_of_type("subscribed")) << client->raw();
    return client;
  }
  RedisServer redis_;
};

TEST_F(SseTest, StreamsTheSameMessagesAsWebSocketWithCursorsAsIds) {
  auto node = start_node();
  std::string head = publish(redis_, make_article("h0", "sports"));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 1));

  SseClient stream(node->port(), "/sse?categories=sports,economie");
  ASSERT_EQ(stream.status(), 200) << stream.raw();
  EXPECT_THAT(stream.header("Content-Type").value_or(""), HasSubstr("text/event-stream"));
  EXPECT_EQ(stream.header("Cache-Control"), "no-store");
  EXPECT_EQ(stream.header("X-Accel-Buffering"), "no");
  EXPECT_EQ(stream.header("Content-Encoding"), std::nullopt);
  EXPECT_EQ(stream.header("Access-Control-Allow-Origin"), "*");
  auto subscribed = stream.next();
  ASSERT_TRUE(subscribed) << stream.raw();
  EXPECT_EQ(stream.retry(), 3000);
  EXPECT_EQ(subscribed->type, "subscribed");
  EXPECT_EQ(subscribed->id, head);  // a reconnect before any article loses nothing
  EXPECT_EQ(subscribed->json()["categories"], json({"economie", "sports"}));
  EXPECT_EQ(node->metric("newspush_sse_streams"), 1);

  auto ws = WsClient::connect(node->port());
  ASSERT_TRUE(ws->subscribe({"sports", "economie"}));
  std::string c1 = publish(redis_, make_article("s1", "sports"));
  publish(redis_, make_article("p1", "politique"));
  std::string c2 = publish(redis_, make_article("b1", "culture", /*breaking=*/true));
  std::string c3 = publish(redis_, make_article("e1", "economie"));

  auto events = stream.articles(3);
  ASSERT_EQ(events.size(), 3u) << stream.raw();
  EXPECT_THAT(article_ids(events), ElementsAre("s1", "b1", "e1"));
  EXPECT_EQ(events[0].id, c1);
  EXPECT_EQ(events[1].id, c2);
  EXPECT_EQ(events[2].id, c3);
  // One parser serves both: the data is the WebSocket message, byte for byte (a WebSocket frame
  // may carry several messages, one per line).
  std::vector<std::string> messages;
  while (messages.size() < events.size()) {
    auto frame = ws->read_raw_frame();
    ASSERT_TRUE(frame);
    for (std::size_t start = 0; start <= frame->size();) {
      auto end = std::min(frame->find('\n', start), frame->size());
      messages.push_back(frame->substr(start, end - start));
      start = end + 1;
    }
  }
  ASSERT_EQ(messages.size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].data, messages[i]);

  ASSERT_EQ(http_request(node->port(), "DELETE", "/api/v1/articles/s1", {}, {}).value_or(HttpResponse{}).status,
            403);  // no key configured: retractions go through Redis below
  auto retracted = redis_.command({"FCALL", "newspush_retract", "1", "news:log", "s1"});
  ASSERT_NE(retracted.type, RedisValue::Type::error) << retracted.text;
  auto retract = stream.next_of_type("retract");
  ASSERT_TRUE(retract) << stream.raw();
  EXPECT_EQ(retract->id, retracted.text);
  EXPECT_EQ(retract->json()["id"], "s1");
}

TEST_F(SseTest, TrendingListsArriveAsTrendingEventsWithoutId) {
  auto node = start_node({"--trending-interval", "200ms", "--publish-key", kKey});
  publish(redis_, make_article("t1", "sports"));
  auto stream = open_stream(node->port(), "/sse?trending=*");
  auto response = http_request(node->port(), "POST", "/api/v1/views", R"([{"article":"t1"}])",
                               {{"Authorization", "Bearer " + kKey}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200) << response->body;
  std::optional<SseEvent> list;
  // The first list may come before the view is counted: wait for the one that ranks t1.
  for (int i = 0; i < 50; ++i) {
    list = stream->next_of_type("trending", 15s);
    ASSERT_TRUE(list) << stream->raw();
    if (!list->json()["items"].empty()) break;
  }
  EXPECT_EQ(list->id, "");
  EXPECT_EQ(list->json()["category"], "*");
  EXPECT_EQ(list->json()["items"][0]["id"], "t1");
}

TEST_F(SseTest, ResumesFromLastEventIdAsABrowserDoesAndFromSince) {
  auto node = start_node();
  auto first = open_stream(node->port(), "/sse?categories=sports");
  publish(redis_, make_article("a1", "sports"));
  auto a1 = first->articles(1);
  ASSERT_EQ(a1.size(), 1u);
  first.reset();  // the reader goes away
  std::string c2 = publish(redis_, make_article("a2", "sports"));
  publish(redis_, make_article("x1", "politique"));
  publish(redis_, make_article("a3", "sports"));
  // The node has them all (a resume beyond what a node has is answered with what it has, the
  // rest live): the replay below is the whole gap.
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 4));

  // EventSource reconnects to the same URL (its ?since= is what the page first asked for) and
  // names the last event it got: the header wins.
  SseClient resumed(node->port(), "/sse?categories=sports&since=" + a1[0].id,
                    {{"Last-Event-ID", a1[0].id}});
  ASSERT_EQ(resumed.status(), 200);
  auto subscribed = resumed.next();
  ASSERT_TRUE(subscribed);
  EXPECT_EQ(subscribed->type, "subscribed");
  EXPECT_EQ(subscribed->id, a1[0].id);
  auto replayed = resumed.articles(2);
  EXPECT_THAT(article_ids(replayed), ElementsAre("a2", "a3"));
  auto done = resumed.next();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->type, "resumed");
  EXPECT_EQ(done->json()["replayed"], 2);
  publish(redis_, make_article("a4", "sports"));
  EXPECT_THAT(article_ids(resumed.articles(1)), ElementsAre("a4"));

  // A client that is not a browser says where to start in the URL.
  SseClient from_url(node->port(), "/sse?categories=sports&since=" + c2);
  EXPECT_THAT(article_ids(from_url.articles(2)), ElementsAre("a3", "a4"));
  auto end = from_url.next_of_type("resumed");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->json()["replayed"], 2);
}

TEST_F(SseTest, ACursorFromAnotherHistoryGetsResetWithTheHeadAsId) {
  auto node = start_node();
  std::string head = publish(redis_, make_article("r1", "sports"));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 1));
  SseClient stream(node->port(), "/sse?categories=sports", {{"Last-Event-ID", "otherepoch:1-0"}});
  auto reset = stream.next_of_type("reset");
  ASSERT_TRUE(reset) << stream.raw();
  EXPECT_EQ(reset->json()["reason"], "unknown_cursor");
  EXPECT_EQ(reset->id, head);  // the browser's next reconnect carries on from there
  publish(redis_, make_article("r2", "sports"));
  EXPECT_THAT(article_ids(stream.articles(1)), ElementsAre("r2"));
}

TEST_F(SseTest, BadRequestsAreRefusedBeforeAnyStreamWithTheCommandsErrorCodes) {
  auto node = start_node({"--max-subscriptions", "3"});
  auto refused = [&](const std::string& target,
                     std::vector<std::pair<std::string, std::string>> headers = {},
                     std::string method = "GET") {
    auto response = http_request(node->port(), method, target, {}, std::move(headers));
    EXPECT_TRUE(response) << target;
    if (!response) return std::make_pair(0, std::string());
    EXPECT_EQ(response->content_type, "application/json") << target;
    auto body = json::parse(response->body, nullptr, false);
    return std::make_pair(response->status, body.is_object() ? body.value("error", "") : response->body);
  };
  EXPECT_EQ(refused("/sse"), std::make_pair(400, std::string("bad_categories")));
  EXPECT_EQ(refused("/sse?categories="), std::make_pair(400, std::string("bad_categories")));
  EXPECT_EQ(refused("/sse?categories=Soci%C3%A9t%C3%A9"), std::make_pair(400, std::string("bad_category")));
  EXPECT_EQ(refused("/sse?categories=a,b,c,d"), std::make_pair(400, std::string("too_many_categories")));
  EXPECT_EQ(refused("/sse?categories=sports&trending=NO"), std::make_pair(400, std::string("bad_trending")));
  EXPECT_EQ(refused("/sse?categories=sports&since="), std::make_pair(400, std::string("bad_since")));
  EXPECT_EQ(refused("/sse?categories=sports", {{"Last-Event-ID", std::string(200, 'x')}}),
            std::make_pair(400, std::string("bad_since")));
  EXPECT_EQ(refused("/sse?categories=sports", {}, "POST"),
            std::make_pair(405, std::string("method_not_allowed")));
  // Percent-encoded lists are read as such.
  auto stream = open_stream(node->port(), "/sse?categories=sports%2Cculture&trending=%2A");
  EXPECT_EQ(node->metric("newspush_sse_streams"), 1);
}

TEST_F(SseTest, OriginsAndAdmissionApplyAsToWebSocket) {
  auto node = start_node({"--allowed-origin", "https://www.exemple.fr", "--max-connections-per-ip", "1"});
  auto other = http_request(node->port(), "GET", "/sse?categories=sports", {},
                            {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 403);
  EXPECT_THAT(other->body, HasSubstr("origin_not_allowed"));

  auto stream = open_stream(node->port(), "/sse?categories=sports", {{"Origin", "https://www.exemple.fr"}});
  EXPECT_EQ(stream->header("Access-Control-Allow-Origin"), "https://www.exemple.fr");
  EXPECT_EQ(stream->header("Vary"), "Origin");
  // The stream holds this address's one connection: neither transport gets another.
  auto second = http_request(node->port(), "GET", "/sse?categories=sports");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429);
  EXPECT_THAT(second->body, HasSubstr("too_many_connections"));
  EXPECT_EQ(second->header("Retry-After"), "5");
  auto upgrade = http_request(node->port(), "GET", "/ws", {},
                              {{"Upgrade", "websocket"}, {"Connection", "Upgrade"},
                               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                               {"Sec-WebSocket-Version", "13"}});
  ASSERT_TRUE(upgrade);
  EXPECT_EQ(upgrade->status, 429);
  stream.reset();
  ASSERT_TRUE(node->wait_metric_at_most("newspush_sse_streams", 0));
  EXPECT_TRUE(open_stream(node->port(), "/sse?categories=sports"));
}

TEST_F(SseTest, ASilentStreamGetsHeartbeatComments) {
  auto node = start_node({"--sse-heartbeat", "1"});
  auto stream = open_stream(node->port(), "/sse?categories=sports");
  // Nothing is published: comments are all that may come.
  const auto give_up = std::chrono::steady_clock::now() + 15s;
  while (stream->comments() < 2 && std::chrono::steady_clock::now() < give_up)
    EXPECT_FALSE(stream->next(250ms)) << "no event was published";
  EXPECT_GE(stream->comments(), 2u) << stream->raw();
  EXPECT_THAT(stream->raw(), HasSubstr("\n: ping\n\n"));
}

TEST_F(SseTest, ASlowReaderIsCutWithACloseEventAndOthersGetEverything) {
  auto node = start_node({"--max-article", "16384", "--max-send-queue", "65536"});
  // A reader with a tiny kernel buffer that stops reading after its subscription.
  SseClient stalled(node->port(), "/sse?categories=culture", {}, 4096);
  ASSERT_EQ(stalled.status(), 200);
  ASSERT_TRUE(stalled.next_of_type("subscribed"));
  auto reader = open_stream(node->port(), "/sse?categories=culture");
  json article = make_article("big", "culture");
  article["summary"] = std::string(8000, 'z');
  int published = 0;
  for (; published < 2000 && node->metric("newspush_slow_consumer_disconnects_total") < 1; ++published) {
    article["id"] = "big" + std::to_string(published);
    publish(redis_, article);
    if (published % 20 == 19) {
      ASSERT_EQ(reader->articles(20, 15s).size(), 20u) << published;
    }
  }
  ASSERT_TRUE(node->wait_metric_at_least("newspush_slow_consumer_disconnects_total", 1)) << published;
  std::size_t rest = static_cast<std::size_t>(published % 20);
  EXPECT_EQ(reader->articles(rest, 15s).size(), rest);
  // The stalled reader, reading again, finds what its kernel held, then the close event.
  auto close = stalled.next_of_type("close", 30s);
  ASSERT_TRUE(close) << stalled.raw().size();
  EXPECT_EQ(close->json(), json({{"type", "close"}, {"code", "slow_consumer"}}));
  EXPECT_TRUE(stalled.wait_closed());
  EXPECT_GE(node->metric("newspush_connections_closed_total{reason=\"slow_consumer\"}"), 1);
}

TEST_F(SseTest, DrainEndsEachStreamWithACloseEventThenTheConnection) {
  auto node = start_node();
  auto stream = open_stream(node->port(), "/sse?categories=sports");
  auto process = node.get();
  std::thread stopper([process] { process->terminate(); });
  auto close = stream->next_of_type("close", 15s);
  EXPECT_TRUE(close) << stream->raw();
  long retry = stream->retry();
  EXPECT_TRUE(stream->wait_closed());
  // As EventSource does when the body ends: the node's drain waits for that, then it exits.
  stream.reset();
  stopper.join();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->json()["code"], "shutdown");
  EXPECT_GE(retry, 1000);  // readers come back spread over a few seconds
  EXPECT_LE(retry, 5000);
  EXPECT_THAT(node->output(), Not(HasSubstr("drain.timed_out")));
}

TEST_F(SseTest, CurlReadsTheStream) {
  auto node = start_node();
  ChildProcess curl({"curl", "-sS", "-N", "--max-time", "30",
                     "http://127.0.0.1:" + std::to_string(node->port()) + "/sse?categories=sports"});
  ASSERT_TRUE(curl.wait_for_line("event: subscribed", 15s)) << curl.output();
  std::string cursor = publish(redis_, make_article("c1", "sports"));
  EXPECT_TRUE(curl.wait_for_line("id: " + cursor, 15s)) << curl.output();
  EXPECT_TRUE(curl.wait_for_line(R"("id":"c1")", 15s)) << curl.output();
}

}  // namespace
}  // namespace newspush::test

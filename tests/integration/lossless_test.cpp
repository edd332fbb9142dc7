// Lossless delivery: cursors, resume after reconnects (to any node), catch-up after Redis
// outages, reset when the history cannot continue. Real redis-server, real newspushd processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/resuming_client.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using ::testing::ElementsAreArray;
using nlohmann::json;

std::unique_ptr<WsClient> connect_and_subscribe(std::uint16_t port, const json& command) {
  auto client = WsClient::connect(port);
  EXPECT_TRUE(client->next_event_of_type("welcome"));
  client->send_text(command.dump());
  return client;
}

class LosslessTest : public ::testing::Test {
 protected:
  std::unique_ptr<NewspushdProcess> start_node(std::vector<std::string> args = {}) {
    auto node = std::make_unique<NewspushdProcess>(redis_.url(), std::move(args));
    EXPECT_TRUE(node->wait_ready()) << node->output();
    return node;
  }
  RedisServer redis_;
};

TEST_F(LosslessTest, EventsCarryIncreasingCursorsAndSubscribedCarriesThePosition) {
  auto node = start_node();
  std::string before = publish(redis_, make_article("p0", "sports"));
  // Once the node has handed p0 to its workers, a new subscriber's position is past it.
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 1));
  auto client = connect_and_subscribe(node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}});
  auto subscribed = client->next_event_of_type("subscribed");
  ASSERT_TRUE(subscribed);
  EXPECT_EQ((*subscribed)["cursor"], before);
  std::string c1 = publish(redis_, make_article("p1", "sports"));
  std::string c2 = publish(redis_, make_article("p2", "sports"));
  auto events = client->collect_articles(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["cursor"], c1);
  EXPECT_EQ(events[1]["cursor"], c2);
  EXPECT_NE(c1, c2);
}

TEST_F(LosslessTest, ResumeReplaysWhatWasMissedForItsCategoriesAndBreakingThenGoesLive) {
  auto node = start_node();
  auto first = connect_and_subscribe(node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}});
  ASSERT_TRUE(first->next_event_of_type("subscribed"));
  // Sees everything: once it has s3, the node has delivered what the second client missed (a
  // resume from a cursor the node has not reached yet is answered at once, the rest live).
  auto observer = connect_and_subscribe(node->port(), {{"op", "subscribe"}, {"categories", {"*"}}});
  ASSERT_TRUE(observer->next_event_of_type("subscribed"));
  std::string c1 = publish(redis_, make_article("s1", "sports"));
  auto got = first->next_event_of_type("article");
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["cursor"], c1);
  first->close();

  publish(redis_, make_article("s2", "sports"));
  publish(redis_, make_article("c1", "culture"));
  publish(redis_, make_article("b1", "politique", true));
  publish(redis_, make_article("s3", "sports"));
  EXPECT_THAT(ids_of(observer->collect_articles(5)),
              ElementsAreArray({"s1", "s2", "c1", "b1", "s3"}));

  auto second = connect_and_subscribe(
      node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}, {"since", c1}});
  auto subscribed = second->next_event_of_type("subscribed");
  ASSERT_TRUE(subscribed);
  EXPECT_EQ((*subscribed)["cursor"], c1);
  EXPECT_THAT(ids_of(second->collect_articles(3)), ElementsAreArray({"s2", "b1", "s3"}));
  auto resumed = second->next_event();
  ASSERT_TRUE(resumed);
  EXPECT_EQ((*resumed)["type"], "resumed");
  EXPECT_EQ((*resumed)["replayed"], 3);
  std::string c5 = publish(redis_, make_article("s4", "sports"));
  auto live = second->next_event_of_type("article");
  ASSERT_TRUE(live);
  EXPECT_EQ((*live)["article"]["id"], "s4");
  EXPECT_EQ((*live)["cursor"], c5);
}

TEST_F(LosslessTest, BreakingNewsBeforeTheResumeArrivesOnceInItsPlace) {
  auto node = start_node();
  auto observer = connect_and_subscribe(node->port(), {{"op", "subscribe"}, {"categories", {"*"}}});
  ASSERT_TRUE(observer->next_event_of_type("subscribed"));
  std::string since = publish(redis_, make_article("s1", "sports"));
  // Connected, not subscribed yet: breaking news is for every connection, this one included.
  auto client = WsClient::connect(node->port());
  ASSERT_TRUE(client->next_event_of_type("welcome"));
  publish(redis_, make_article("s2", "sports"));
  publish(redis_, make_article("b1", "politique", true));
  publish(redis_, make_article("s3", "sports"));
  ASSERT_THAT(ids_of(observer->collect_articles(4)), ElementsAreArray({"s1", "s2", "b1", "s3"}));
  client->send_text(json({{"op", "subscribe"}, {"categories", {"sports"}}, {"since", since}}).dump());
  // Nothing before "subscribed", then the replay in order: b1 once, in its place.
  auto first = client->next_event();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["type"], "subscribed") << first->dump();
  EXPECT_THAT(ids_of(client->collect_articles(3)), ElementsAreArray({"s2", "b1", "s3"}));
  auto resumed = client->next_event();
  ASSERT_TRUE(resumed);
  EXPECT_EQ((*resumed)["type"], "resumed") << resumed->dump();
  EXPECT_EQ((*resumed)["replayed"], 3);
  EXPECT_TRUE(client->no_event_within(300ms));
}

TEST_F(LosslessTest, AConnectionThatSendsNothingStillGetsBreakingNews) {
  auto node = start_node();
  auto client = WsClient::connect(node->port());
  ASSERT_TRUE(client->next_event_of_type("welcome"));
  std::string cursor = publish(redis_, make_article("b1", "politique", true));
  // It may be about to resume, so the news waits a moment (2 s) for its first command.
  auto got = client->next_event_of_type("article", 10s);
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["cursor"], cursor);
}

TEST_F(LosslessTest, SinceIsOnlyForTheFirstSubscribe) {
  auto node = start_node();
  std::string c = publish(redis_, make_article("x", "sports"));
  auto client = connect_and_subscribe(node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}});
  ASSERT_TRUE(client->next_event_of_type("subscribed"));
  client->send_text(json({{"op", "subscribe"}, {"categories", {"culture"}}, {"since", c}}).dump());
  auto error = client->next_event_of_type("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "bad_since");
}

TEST_F(LosslessTest, UnknownOrTooOldCursorGetsResetThenLiveEvents) {
  auto node = start_node({"--history-max-length", "10"});
  std::string oldest = publish(redis_, make_article("o0", "sports"));
  for (int i = 1; i < 300; ++i) publish(redis_, make_article("o" + std::to_string(i), "sports"));

  for (std::string since : {oldest, std::string("nonsense"), std::string("otherepoch:1-0")}) {
    auto client = connect_and_subscribe(
        node->port(), {{"op", "subscribe"}, {"categories", {"sports"}}, {"since", since}});
    auto reset = client->next_event_of_type("reset");
    ASSERT_TRUE(reset) << since << " closed " << client->close_code().value_or(0) << " " << client->close_reason();
    EXPECT_EQ((*reset)["reason"], since == oldest ? "cursor_too_old" : "unknown_cursor");
    std::string head = (*reset)["cursor"];
    std::string next = publish(redis_, make_article("after-" + since, "sports"));
    auto live = client->next_event_of_type("article");
    ASSERT_TRUE(live);
    EXPECT_EQ((*live)["cursor"], next);
    EXPECT_NE(head, next);
  }
}

TEST_F(LosslessTest, ResumeAtTheSeamUnderConcurrentPublishingLosesAndRepeatsNothing) {
  auto node = start_node();
  // The publisher keeps going until the client has resumed several times, so every resume
  // happens while articles are being published.
  constexpr int kDrops = 6;
  std::atomic<int> drops{0};
  std::mutex ids_mutex;
  std::vector<std::string> ids;
  std::thread publisher([&] {
    for (int i = 0; i < 20000 && (drops.load() < kDrops || i < 300); ++i) {
      std::string id = "seam" + std::to_string(i);
      publish(redis_, make_article(id, "economie"));
      std::lock_guard lock(ids_mutex);
      ids.push_back(id);
    }
  });
  ResumingClient client([&] { return node->port(); }, {"economie"});
  ASSERT_TRUE(client.run_until([&] { return !client.articles().empty(); }, 30s));
  while (drops.load() < kDrops) {
    std::size_t target = client.articles().size() + 50;
    ASSERT_TRUE(client.run_until([&] { return client.articles().size() >= target; }, 30s));
    client.drop();
    ++drops;
  }
  publisher.join();
  // The client joined after the first articles were published: it is done once it has the last
  // and has come back from the last drop (it may have held the last article before that drop).
  std::string last = ids.back();
  ASSERT_TRUE(client.run_until(
      [&] {
        return client.reconnects() == static_cast<std::size_t>(kDrops) &&
               !client.articles().empty() && client.article_ids().back() == last;
      },
      60s))
      << "reconnects " << client.reconnects() << "\n" << client.recent_log();
  std::vector<std::string> received = client.article_ids();
  // The client joined after some were published: it must hold an unbroken tail, in order.
  auto first = std::find(ids.begin(), ids.end(), received.front());
  ASSERT_NE(first, ids.end());
  std::vector<std::string> expected(first, ids.end());
  for (std::size_t i = 0; i < std::min(expected.size(), received.size()); ++i)
    ASSERT_EQ(received[i], expected[i]) << "first difference at " << i << ", "
                                        << received.size() << " received, " << expected.size()
                                        << " expected; next received: "
                                        << (i + 1 < received.size() ? received[i + 1] : "-");
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_EQ(client.reconnects(), static_cast<std::size_t>(kDrops));
}

TEST_F(LosslessTest, ReconnectToTheOtherNodeResumesExactly) {
  auto a = start_node();
  auto b = start_node();
  std::uint16_t target = a->port();
  ResumingClient client([&] { return target; }, {"sports"});
  ASSERT_TRUE(client.run_until([&] { return !client.cursor().empty(); }, 15s))
      << "connected " << client.connected() << " reconnects " << client.reconnects() << "\n" << a->output();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back("n" + std::to_string(i));
    publish(redis_, make_article(ids.back(), "sports"));
  }
  ASSERT_TRUE(client.run_until([&] { return client.articles().size() >= 10; }, 15s));
  client.drop();
  target = b->port();
  for (int i = 20; i < 40; ++i) {
    ids.push_back("n" + std::to_string(i));
    publish(redis_, make_article(ids.back(), "sports"));
  }
  ASSERT_TRUE(client.run_until([&] { return client.articles().size() >= ids.size(); }, 15s));
  EXPECT_THAT(client.article_ids(), ElementsAreArray(ids));
}

TEST_F(LosslessTest, NodeWhoseSubscriptionDropsFillsTheGapForItsClients) {
  auto a = start_node();
  auto b = start_node({"--publish-key", "test-key-0123456789"});
  ResumingClient client([&] { return a->port(); }, {"*"});
  ASSERT_TRUE(client.run_until([&] { return !client.cursor().empty(); }, 15s));
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    ids.push_back("g" + std::to_string(i));
    // Through the other node's publish API.
    auto response = http_request(b->port(), "POST", "/api/v1/articles",
                                 make_article(ids.back(), i % 2 ? "sante" : "culture").dump(),
                                 {{"Authorization", "Bearer test-key-0123456789"}});
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 201) << response->body;
    if (i % 15 == 7) redis_.command({"CLIENT", "KILL", "TYPE", "pubsub"});
  }
  ASSERT_TRUE(client.run_until([&] { return client.articles().size() >= ids.size(); }, 30s))
      << a->output();
  EXPECT_THAT(client.article_ids(), ElementsAreArray(ids));
  EXPECT_EQ(client.reconnects(), 0u);
  EXPECT_GE(a->metric("newspush_redis_connects_total"), 2);
}

TEST_F(LosslessTest, SigtermDrainOfOneNodeClientsMoveToTheOtherAndLoseNothing) {
  auto a = start_node();
  auto b = start_node();
  bool a_up = true;
  std::vector<std::unique_ptr<ResumingClient>> clients;
  for (int i = 0; i < 10; ++i)
    clients.push_back(std::make_unique<ResumingClient>(
        [&] { return a_up ? a->port() : b->port(); }, std::vector<std::string>{"international"}));
  for (auto& c : clients) ASSERT_TRUE(c->run_until([&] { return !c->cursor().empty(); }, 15s));
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    if (i == 10) {
      a_up = false;
      ASSERT_TRUE(a->process().send_signal(SIGTERM));
    }
    ids.push_back("d" + std::to_string(i));
    publish(redis_, make_article(ids.back(), "international"));
  }
  EXPECT_EQ(a->process().wait_exit(15s), 0);
  for (auto& c : clients) {
    ASSERT_TRUE(c->run_until([&] { return c->articles().size() >= ids.size(); }, 30s));
    EXPECT_THAT(c->article_ids(), ElementsAreArray(ids));
    EXPECT_THAT(c->close_codes(), ::testing::Contains(1001));
  }
}

TEST_F(LosslessTest, PublishApiIsIdempotentAndDeliversCorrectionsAndRetractions) {
  auto node = start_node({"--publish-key", "test-key-0123456789"});
  auto client = connect_and_subscribe(node->port(), {{"op", "subscribe"}, {"categories", {"culture"}}});
  ASSERT_TRUE(client->next_event_of_type("subscribed"));
  auto post = [&](const json& article) {
    return http_request(node->port(), "POST", "/api/v1/articles", article.dump(),
                        {{"Authorization", "Bearer test-key-0123456789"}});
  };
  json article = make_article("k1", "culture");
  auto first = post(article);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 201);
  auto retry = post(article);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 200);
  EXPECT_EQ(json::parse(retry->body)["cursor"], json::parse(first->body)["cursor"]);
  article["title"] = "Titre corrigé";
  auto correction = post(article);
  ASSERT_TRUE(correction);
  EXPECT_EQ(correction->status, 201);
  EXPECT_EQ(json::parse(correction->body)["status"], "update");
  auto retract = http_request(node->port(), "DELETE", "/api/v1/articles/k1", {},
                              {{"Authorization", "Bearer test-key-0123456789"}});
  ASSERT_TRUE(retract);
  EXPECT_EQ(retract->status, 200);

  auto original = client->next_event();
  ASSERT_TRUE(original);
  EXPECT_EQ((*original)["type"], "article");
  EXPECT_FALSE(original->contains("update"));
  auto updated = client->next_event();
  ASSERT_TRUE(updated);
  EXPECT_EQ((*updated)["update"], true);
  EXPECT_EQ((*updated)["article"]["title"], "Titre corrigé");
  auto retraction = client->next_event();
  ASSERT_TRUE(retraction);
  EXPECT_EQ((*retraction)["type"], "retract");
  EXPECT_EQ((*retraction)["id"], "k1");
  EXPECT_EQ(redis_.command({"XLEN", "news:log"}).integer, 3);
}

TEST_F(LosslessTest, BadPublishRequestsGetTheDocumentedErrorsAndStoreNothing) {
  auto open_node = start_node();
  auto closed = http_request(open_node->port(), "POST", "/api/v1/articles",
                             make_article("x", "sports").dump(), {{"Authorization", "Bearer anything-at-all-0"}});
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, 403);  // no key configured: never open

  auto node = start_node({"--publish-key", "test-key-0123456789", "--max-article", "4096"});
  auto post = [&](const std::string& body, std::string key = "test-key-0123456789") {
    return http_request(node->port(), "POST", "/api/v1/articles", body, {{"Authorization", "Bearer " + key}});
  };
  EXPECT_EQ(post(make_article("x", "sports").dump(), "wrong-key-000000000")->status, 403);
  EXPECT_EQ(http_request(node->port(), "POST", "/api/v1/articles", "{}")->status, 401);
  struct Case {
    std::string body;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{{"not json", "not_json"},
                                         {R"({"id":"x","category":"Sports","title":"t"})", "bad_category"},
                                         {R"({"category":"sports","title":"t"})", "bad_id"},
                                         {R"({"id":"x","category":"sports"})", "bad_title"},
                                         {R"({"id":"x","category":"sports","title":"t","breaking":1})", "bad_breaking"}}) {
    auto response = post(c.body);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << c.body;
    EXPECT_EQ(json::parse(response->body)["error"], c.error) << response->body;
  }
  auto huge = post(json({{"id", "x"}, {"category", "sports"}, {"title", std::string(8000, 'x')}}).dump());
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  EXPECT_EQ(http_request(node->port(), "DELETE", "/api/v1/articles/nope", {},
                         {{"Authorization", "Bearer test-key-0123456789"}})->status, 404);
  // The scheme in any case, extra spaces before the key: past the key check (404, not 401/403).
  EXPECT_EQ(http_request(node->port(), "DELETE", "/api/v1/articles/nope", {},
                         {{"Authorization", "bearer   test-key-0123456789"}})->status, 404);
  EXPECT_EQ(redis_.command({"EXISTS", "news:log"}).integer, 0);
}

TEST_F(LosslessTest, RecentArticlesComeWithTheCursorToSubscribeFrom) {
  auto node = start_node();
  publish(redis_, make_article("r1", "sports"));
  publish(redis_, make_article("r2", "culture"));
  std::string last = publish(redis_, make_article("r3", "sports"));
  // The list is consistent with what the node has delivered: it reaches r3 once the node has
  // received r3's announcement, which is asynchronous to the publish above.
  std::optional<HttpResponse> response;
  json body;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    response = http_get(node->port(), "/api/v1/articles?category=sports&limit=20");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200) << response->body;
    body = json::parse(response->body);
    if (body["cursor"] == last || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(body["cursor"], last);
  ASSERT_EQ(body["events"].size(), 2u);
  EXPECT_EQ(body["events"][0]["article"]["id"], "r3");
  EXPECT_EQ(body["events"][1]["article"]["id"], "r1");
  EXPECT_EQ(http_get(node->port(), "/api/v1/articles?category=BAD")->status, 400);
}

}  // namespace
}  // namespace newspush::test

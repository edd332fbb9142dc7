// The trending part of the Redis Functions library server/redis/newspush.lua against a real
// redis-server: the base, counting views, the capped sorted sets, the leader lease and its tick,
// fenced publishing of lists, rebasing, and how publish/retract keep the sets in step.
// The library is read from the source tree at run time, so editing it needs no rebuild.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/eventually.hpp"
#include "tests/support/functions_library.hpp"
#include "tests/support/redis_server.hpp"

namespace newspush::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using Type = RedisValue::Type;

const std::string kLog = "news:log";
const std::string kEvents = "news:events";
const std::string kTrending = "news:trending";
const std::string kHalfLife = "7200000";
const std::string kNow = "1795890000000";

std::string article(const std::string& id, const std::string& category,
                    const std::string& title = "", const std::string& url = "") {
  json a = {{"id", id}, {"category", category}, {"title", title.empty() ? "Titre " + id : title}};
  if (!url.empty()) a["url"] = url;
  return a.dump();
}

std::string frame(const std::string& category, const std::vector<std::string>& ids = {}) {
  json items = json::array();
  for (const auto& id : ids) items.push_back({{"id", id}, {"title", "T"}, {"score", 1.0}});
  return json{{"type", "trending"}, {"category", category}, {"items", items}, {"at", 1}}.dump();
}

// How the library renders a raw score.
std::string g17(double x) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", x);
  return text;
}

// Key expiry happens on Redis' own clock: a generous bound, a short poll.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds bound = 15s) {
  return test::eventually(pred, bound, 10ms);
}

struct Item {
  std::string id, title, url, category, score;
};

struct List {
  std::string category, sig;
  std::vector<Item> items;
};

struct Tick {
  std::string role, holder, t0, hl;
  std::vector<List> lists;

  const List* list(const std::string& category) const {
    for (const auto& l : lists)
      if (l.category == category) return &l;
    return nullptr;
  }
  std::vector<std::string> categories() const {
    std::vector<std::string> out;
    for (const auto& l : lists) out.push_back(l.category);
    return out;
  }
};

std::vector<std::string> ids_of(const List* list) {
  std::vector<std::string> ids;
  if (list)
    for (const auto& item : list->items) ids.push_back(item.id);
  return ids;
}

class TrendingFunctions : public FunctionsLibraryTest {
 protected:
  std::string error_of(const RedisValue& reply) {
    return reply.type == Type::error ? reply.text : "";
  }

  void init(const std::string& max_age_ms = "86400000") {
    RedisValue head = fcall("newspush_init", {"10000", max_age_ms, kEvents});
    ASSERT_EQ(head.type, Type::string) << head.text;
  }

  void publish(const std::string& body, const std::string& expected_kind = "article") {
    RedisValue reply = fcall("newspush_publish", {body});
    ASSERT_EQ(reply.type, Type::array) << reply.text;
    ASSERT_EQ(reply.elements.size(), 2u);
    EXPECT_EQ(reply.elements[1].text, expected_kind) << body;
  }

  // {t0, hl} from newspush_trending_base.
  std::pair<std::string, std::string> base(const std::string& hl = kHalfLife,
                                           const std::string& now = kNow) {
    RedisValue reply = fcall("newspush_trending_base", {hl, now});
    if (reply.type != Type::array || reply.elements.size() != 2) {
      ADD_FAILURE() << "base answered " << reply.text;
      return {};
    }
    EXPECT_EQ(reply.elements[0].type, Type::string);
    return {reply.elements[0].text, reply.elements[1].text};
  }

  RedisValue view(const std::string& t0, const std::string& weight,
                  const std::vector<std::string>& ids) {
    std::vector<std::string> args{t0, weight};
    args.insert(args.end(), ids.begin(), ids.end());
    return fcall("newspush_view", args);
  }

  // Views that must be accepted; returns {counted, unknown}.
  std::pair<long long, long long> view_ok(const std::string& weight,
                                          const std::vector<std::string>& ids,
                                          const std::string& t0 = kNow) {
    RedisValue reply = view(t0, weight, ids);
    if (reply.type != Type::array || reply.elements.size() != 3 ||
        reply.elements[0].text != "ok") {
      ADD_FAILURE() << "view answered " << reply.text;
      return {-1, -1};
    }
    EXPECT_EQ(reply.elements[1].type, Type::integer);
    EXPECT_EQ(reply.elements[2].type, Type::integer);
    return {reply.elements[1].integer, reply.elements[2].integer};
  }

  Tick tick(const std::string& node, const std::string& lease_ms = "60000",
            const std::string& limit = "10") {
    RedisValue reply = fcall("newspush_trending_tick", {node, lease_ms, limit});
    Tick t;
    if (reply.type != Type::array || reply.elements.empty()) {
      ADD_FAILURE() << "tick answered " << reply.text;
      return t;
    }
    const auto& e = reply.elements;
    t.role = e[0].text;
    if (t.role == "follower") {
      EXPECT_EQ(e.size(), 2u);
      if (e.size() > 1) t.holder = e[1].text;
      return t;
    }
    EXPECT_EQ(t.role, "leader");
    if (e.size() < 4) {
      ADD_FAILURE() << "short leader reply";
      return t;
    }
    t.t0 = e[1].text;
    t.hl = e[2].text;
    EXPECT_EQ(e[3].type, Type::integer);
    std::size_t i = 4;
    for (long long c = 0; c < e[3].integer; ++c) {
      if (i + 3 > e.size()) {
        ADD_FAILURE() << "truncated list " << c;
        return t;
      }
      List list{e[i].text, e[i + 1].text, {}};
      EXPECT_EQ(e[i + 2].type, Type::integer);
      long long n = e[i + 2].integer;
      i += 3;
      for (long long k = 0; k < n; ++k, i += 5) {
        if (i + 5 > e.size()) {
          ADD_FAILURE() << "truncated item";
          return t;
        }
        list.items.push_back({e[i].text, e[i + 1].text, e[i + 2].text, e[i + 3].text,
                              e[i + 4].text});
      }
      t.lists.push_back(std::move(list));
    }
    EXPECT_EQ(i, e.size()) << "trailing elements in the tick reply";
    return t;
  }

  RedisValue trending_publish(const std::string& node, const std::vector<std::string>& triples,
                              const std::string& channel = kTrending) {
    std::vector<std::string> args{node, channel};
    args.insert(args.end(), triples.begin(), triples.end());
    return fcall("newspush_trending_publish", args);
  }

  RedisValue rebase(const std::string& node, const std::string& old_t0, const std::string& new_t0,
                    const std::string& new_hl, const std::string& factor) {
    return fcall("newspush_trending_rebase", {node, old_t0, new_t0, new_hl, factor});
  }

  std::optional<double> zscore(const std::string& category, const std::string& id) {
    RedisValue reply = redis_.command({"ZSCORE", kLog + ":trend:c:" + category, id});
    if (reply.type != Type::string) return std::nullopt;
    return std::stod(reply.text);
  }

  long long zcard(const std::string& category) {
    return redis_.command({"ZCARD", kLog + ":trend:c:" + category}).integer;
  }

  // Members best first.
  std::vector<std::string> zrevrange(const std::string& category) {
    std::vector<std::string> out;
    for (const auto& v :
         redis_.command({"ZREVRANGE", kLog + ":trend:c:" + category, "0", "-1"}).elements)
      out.push_back(v.text);
    return out;
  }

  std::vector<std::string> cats() {
    std::vector<std::string> out;
    for (const auto& v : redis_.command({"SMEMBERS", kLog + ":trend:cats"}).elements)
      out.push_back(v.text);
    std::sort(out.begin(), out.end());
    return out;
  }

  bool exists(const std::string& key) { return redis_.command({"EXISTS", key}).integer == 1; }
};

// --- base -------------------------------------------------------------------------------------

TEST_F(TrendingFunctions, BaseIsCreatedOnceAndThenReturnedUnchanged) {
  EXPECT_EQ(base(kHalfLife, kNow), std::make_pair(kNow, kHalfLife));
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":trend:base", "t0"}), kNow);
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":trend:base", "hl"}), kHalfLife);
  // Another node with another clock and half-life adopts the stored base.
  EXPECT_EQ(base("60000", "1795899999999"), std::make_pair(kNow, kHalfLife));
  // Leading zeros are the same integer, stored in canonical form.
  redis_.command({"DEL", kLog + ":trend:base"});
  EXPECT_EQ(base("0060000", "00123"), std::make_pair(std::string("123"), std::string("60000")));
}

// --- view -------------------------------------------------------------------------------------

TEST_F(TrendingFunctions, ViewCountsKnownIdsAndIgnoresUnknownOnes) {
  init();
  publish(article("a", "sport"));
  publish(article("b", "world"));
  publish(article("gone", "world"));
  ASSERT_EQ(fcall("newspush_retract", {"gone"}).type, Type::string);
  base();

  EXPECT_EQ(view_ok("1", {"a", "never", "a", "b", "gone"}), std::make_pair(3LL, 2LL));
  EXPECT_EQ(zscore("sport", "a"), 2.0);
  EXPECT_EQ(zscore("*", "a"), 2.0);
  EXPECT_EQ(zscore("world", "b"), 1.0);
  EXPECT_EQ(zscore("*", "b"), 1.0);
  EXPECT_EQ(zscore("*", "never"), std::nullopt);
  EXPECT_EQ(zscore("*", "gone"), std::nullopt);
  EXPECT_EQ(zscore("world", "gone"), std::nullopt);
  EXPECT_THAT(cats(), ElementsAre("sport", "world")) << "never contains \"*\"";
  EXPECT_THAT(zrevrange("sport"), ElementsAre("a"));
  EXPECT_THAT(zrevrange("world"), ElementsAre("b"));
  EXPECT_THAT(zrevrange("*"), ElementsAre("a", "b"));

  EXPECT_EQ(view_ok("1", {"nobody", "nothing"}), std::make_pair(0LL, 2LL));
  EXPECT_EQ(zcard("*"), 2);
}

TEST_F(TrendingFunctions, ViewAgainstAnotherBaseIsRebasedAndChangesNothing) {
  init();
  publish(article("a", "sport"));

  RedisValue before_base = view(kNow, "1", {"a"});
  ASSERT_EQ(before_base.type, Type::array) << before_base.text;
  EXPECT_THAT(before_base.elements.size(), 3u);
  EXPECT_EQ(before_base.elements.at(0).text, "rebased");
  EXPECT_EQ(before_base.elements.at(1).text, "");
  EXPECT_EQ(before_base.elements.at(2).text, "");

  base();
  RedisValue stale = view("1795889999999", "1", {"a"});
  ASSERT_EQ(stale.type, Type::array) << stale.text;
  ASSERT_EQ(stale.elements.size(), 3u);
  EXPECT_EQ(stale.elements[0].text, "rebased");
  EXPECT_EQ(stale.elements[1].text, kNow);
  EXPECT_EQ(stale.elements[2].text, kHalfLife);
  EXPECT_FALSE(exists(kLog + ":trend:c:sport"));
  EXPECT_FALSE(exists(kLog + ":trend:c:*"));
  EXPECT_FALSE(exists(kLog + ":trend:cats"));

  EXPECT_EQ(view_ok("1", {"a"}, "0" + kNow), std::make_pair(1LL, 0LL))
      << "the same integer with a leading zero is the same base";
}

TEST_F(TrendingFunctions, WeightsAddUpExactly) {
  init();
  publish(article("a", "sport"));
  publish(article("b", "sport"));
  base();
  view_ok("0.5", {"a"});
  view_ok("0.25", {"a"});
  view_ok("1.125", {"a"});
  EXPECT_EQ(zscore("sport", "a"), 1.875);
  EXPECT_EQ(zscore("*", "a"), 1.875);

  // Full double precision on the way in and out (Lua's default formatting keeps 14 digits).
  view_ok("0.1", {"b"});
  view_ok("0.2", {"b"});
  EXPECT_EQ(zscore("sport", "b"), 0.1 + 0.2);
  view_ok("1.2345678901234567e-5", {"b"});
  EXPECT_EQ(zscore("*", "b"), 0.1 + 0.2 + 1.2345678901234567e-5);
  view_ok("3e+2", {"b"});
  EXPECT_EQ(zscore("*", "b"), 0.1 + 0.2 + 1.2345678901234567e-5 + 300);
}

TEST_F(TrendingFunctions, EachCategoryHasItsSetAndStarHasThemAll) {
  init();
  publish(article("s1", "sport"));
  publish(article("s2", "sport"));
  publish(article("w1", "world"));
  publish(article("c1", "culture"));
  base();
  view_ok("1", {"s1", "s1", "s1", "w1", "w1", "s2", "c1", "c1", "c1", "c1"});
  EXPECT_THAT(zrevrange("sport"), ElementsAre("s1", "s2"));
  EXPECT_THAT(zrevrange("world"), ElementsAre("w1"));
  EXPECT_THAT(zrevrange("culture"), ElementsAre("c1"));
  EXPECT_THAT(zrevrange("*"), ElementsAre("c1", "s1", "w1", "s2"));
  EXPECT_THAT(cats(), ElementsAre("culture", "sport", "world"));
}

TEST_F(TrendingFunctions, SetsAreCappedByDroppingTheLowest) {
  init();
  std::vector<std::string> low, high;
  for (int i = 0; i < 1000; ++i) low.push_back("p" + std::to_string(i));
  for (int i = 1000; i < 1100; ++i) high.push_back("p" + std::to_string(i));
  for (const auto& id : low) publish(article(id, "sport"));
  for (const auto& id : high) publish(article(id, "sport"));
  publish(article("lowest", "sport"));
  base();

  EXPECT_EQ(view_ok("2", low), std::make_pair(1000LL, 0LL)) << "1000 ids per call is allowed";
  EXPECT_EQ(view_ok("3", high), std::make_pair(100LL, 0LL));
  EXPECT_EQ(zcard("sport"), 1100) << "trimmed only once past 1100";
  EXPECT_EQ(zcard("*"), 1100);

  EXPECT_EQ(view_ok("1", {"lowest"}), std::make_pair(1LL, 0LL));
  EXPECT_EQ(zcard("sport"), 1000);
  EXPECT_EQ(zcard("*"), 1000);
  EXPECT_EQ(zscore("sport", "lowest"), std::nullopt);
  EXPECT_EQ(zscore("*", "lowest"), std::nullopt);
  // 101 went: "lowest" (score 1), then the 100 of score 2 that come first by rank (ties rank by
  // member bytewise); every score-3 member stays.
  std::vector<std::string> expected = low;
  std::sort(expected.begin(), expected.end());
  expected.erase(expected.begin(), expected.begin() + 100);
  expected.insert(expected.end(), high.begin(), high.end());
  EXPECT_THAT(zrevrange("sport"), UnorderedElementsAreArray(expected));
  EXPECT_THAT(zrevrange("*"), UnorderedElementsAreArray(expected));
  for (const auto& id : high) EXPECT_EQ(zscore("sport", id), 3.0) << id;
}

// --- tick -------------------------------------------------------------------------------------

TEST_F(TrendingFunctions, TheLeaseHasOneHolderUntilItExpires) {
  const std::string leader_key = kLog + ":trend:leader";
  Tick a = tick("node-a", "60000");
  EXPECT_EQ(a.role, "leader");
  EXPECT_EQ(redis_.command_string({"GET", leader_key}), "node-a");

  Tick b = tick("node-b", "60000");
  EXPECT_EQ(b.role, "follower");
  EXPECT_EQ(b.holder, "node-a");
  EXPECT_TRUE(b.lists.empty());

  // The holder renews with its own lease_ms.
  EXPECT_EQ(tick("node-a", "200").role, "leader");
  long long ttl = redis_.command({"PTTL", leader_key}).integer;
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 200);
  EXPECT_EQ(tick("node-a", "3600000").role, "leader");
  EXPECT_GT(redis_.command({"PTTL", leader_key}).integer, 200) << "renewal must extend the TTL";

  EXPECT_EQ(tick("node-a", "200").role, "leader");
  ASSERT_TRUE(eventually([&] { return !exists(leader_key); })) << "the lease never expired";
  Tick taken = tick("node-b", "60000");
  EXPECT_EQ(taken.role, "leader");
  Tick old = tick("node-a", "60000");
  EXPECT_EQ(old.role, "follower");
  EXPECT_EQ(old.holder, "node-b");
}

TEST_F(TrendingFunctions, TickListsEveryCategoryBestFirstWithRecordFields) {
  init();
  publish(article("x", "sport", "Xavier", "https://example.com/x"));
  publish(article("y", "sport", "Yann"));
  publish(article("z", "sport", "Zoé « ⚡ »", "https://example.com/z?a=1&b=2"));
  publish(article("w", "world", "Wanda", "https://example.com/w"));
  base();
  view_ok("1", {"x", "x", "x", "y", "y", "z", "z", "w"});
  view_ok("0.5", {"w"});

  Tick t = tick("node-a", "60000", "10");
  ASSERT_EQ(t.role, "leader");
  EXPECT_EQ(t.t0, kNow);
  EXPECT_EQ(t.hl, kHalfLife);
  EXPECT_THAT(t.categories(), ElementsAre("*", "sport", "world"));

  const List* sport = t.list("sport");
  ASSERT_NE(sport, nullptr);
  EXPECT_EQ(sport->sig, "");
  // y and z tie at 2: ZREVRANGE puts the bytewise greater member first.
  EXPECT_THAT(ids_of(sport), ElementsAre("x", "z", "y"));
  const Item& x = sport->items[0];
  EXPECT_EQ(x.title, "Xavier");
  EXPECT_EQ(x.url, "https://example.com/x");
  EXPECT_EQ(x.category, "sport");
  EXPECT_EQ(x.score, "3");
  EXPECT_EQ(sport->items[1].title, "Zoé « ⚡ »");
  EXPECT_EQ(sport->items[1].url, "https://example.com/z?a=1&b=2");
  EXPECT_EQ(sport->items[1].score, "2");
  EXPECT_EQ(sport->items[2].url, "") << "no url in the article";

  EXPECT_THAT(ids_of(t.list("world")), ElementsAre("w"));
  EXPECT_EQ(t.list("world")->items[0].score, "1.5");
  EXPECT_EQ(t.list("world")->items[0].category, "world");

  const List* all = t.list("*");
  ASSERT_NE(all, nullptr);
  EXPECT_THAT(ids_of(all), ElementsAre("x", "z", "y", "w"));
  EXPECT_EQ(all->items[3].category, "world") << "the item's own category, not \"*\"";

  // limit; raw scores at full precision.
  publish(article("v", "world"));
  view_ok("0.1", {"v"});
  view_ok("0.2", {"v"});
  Tick top = tick("node-a", "60000", "2");
  EXPECT_THAT(ids_of(top.list("*")), ElementsAre("x", "z"));
  EXPECT_THAT(ids_of(top.list("sport")), ElementsAre("x", "z"));
  EXPECT_THAT(ids_of(top.list("world")), ElementsAre("w", "v"));
  std::string score = top.list("world")->items[1].score;
  EXPECT_EQ(std::stod(score), 0.1 + 0.2) << score;
  EXPECT_EQ(score, g17(0.1 + 0.2));
  EXPECT_EQ(score, "0.30000000000000004") << "not Lua's default 14 digits";
}

TEST_F(TrendingFunctions, TickReturnsStoredSignaturesAndListsThatOnlyHaveOne) {
  init();
  publish(article("a", "sport"));
  base();
  view_ok("1", {"a"});
  ASSERT_EQ(tick("node-a").role, "leader");
  RedisValue published = trending_publish(
      "node-a", {"*", "sig-all", frame("*", {"a"}), "culture", "sig-culture", frame("culture")});
  ASSERT_EQ(published.type, Type::integer) << published.text;

  Tick t = tick("node-a");
  EXPECT_THAT(t.categories(), ElementsAre("*", "culture", "sport"));
  EXPECT_EQ(t.list("*")->sig, "sig-all");
  EXPECT_EQ(t.list("sport")->sig, "");
  EXPECT_EQ(t.list("culture")->sig, "sig-culture");
  EXPECT_TRUE(t.list("culture")->items.empty());
  EXPECT_THAT(cats(), ElementsAre("sport")) << "a tick does not add categories";
}

TEST_F(TrendingFunctions, TickPrunesArticlesWhoseRecordIsGone) {
  init();
  for (const char* id : {"a", "b", "c", "d"}) publish(article(id, "sport"));
  publish(article("old", "world"));
  base();
  view_ok("1", {"a", "a", "a", "a", "b", "b", "b", "c", "c", "d", "old", "old", "old", "old",
                "old"});
  // As if they had aged out of the history (records expire after max_age_ms).
  redis_.command({"DEL", kLog + ":id:a", kLog + ":id:b", kLog + ":id:old"});

  Tick t = tick("node-a", "60000", "2");
  ASSERT_EQ(t.role, "leader");
  // The dead top entries do not use up the limit: the next live ones fill it.
  EXPECT_THAT(ids_of(t.list("sport")), ElementsAre("c", "d"));
  EXPECT_THAT(ids_of(t.list("*")), ElementsAre("c", "d"));
  EXPECT_TRUE(t.list("world")->items.empty());
  EXPECT_THAT(zrevrange("sport"), ElementsAre("c", "d"));
  EXPECT_THAT(zrevrange("*"), ElementsAre("c", "d"));
  EXPECT_FALSE(exists(kLog + ":trend:c:world"));
  EXPECT_THAT(cats(), ElementsAre("sport")) << "an emptied category leaves trend:cats";
  EXPECT_THAT(tick("node-a").categories(), ElementsAre("*", "sport"));
}

TEST_F(TrendingFunctions, TickPrunesArticlesThatReallyExpired) {
  init();
  publish(article("brief", "sport"));
  base();
  EXPECT_EQ(view_ok("1", {"brief"}), std::make_pair(1LL, 0LL));
  // What max_age_ms does to a record, only sooner.
  redis_.command({"PEXPIRE", kLog + ":id:brief", "50"});
  ASSERT_TRUE(eventually([&] { return !exists(kLog + ":id:brief"); }))
      << "the record never expired";
  Tick t = tick("node-a");
  EXPECT_TRUE(t.list("*")->items.empty());
  EXPECT_TRUE(t.list("sport")->items.empty());
  EXPECT_EQ(zcard("*"), 0);
  EXPECT_EQ(zcard("sport"), 0);
  EXPECT_TRUE(cats().empty());
}

// --- publish and current ----------------------------------------------------------------------

TEST_F(TrendingFunctions, PublishIsFencedNumberedStoredAndAnnounced) {
  ChannelSubscriber subscriber(redis_.port(), kTrending);
  ASSERT_EQ(tick("node-a").role, "leader");
  const std::string all = frame("*", {"x", "y"});
  const std::string sport = frame("sport", {"x"});

  RedisValue refused = trending_publish("node-b", {"*", "sig", all});
  EXPECT_THAT(error_of(refused), StartsWith("ERR newspush: not_leader: "));
  EXPECT_FALSE(exists(kLog + ":trend:seq"));
  EXPECT_FALSE(exists(kLog + ":trend:current"));

  RedisValue published = trending_publish("node-a", {"*", "sig-1", all, "sport", "sig-2", sport});
  ASSERT_EQ(published.type, Type::integer) << published.text;
  EXPECT_EQ(published.integer, 2);
  EXPECT_EQ(subscriber.next(), "1\n*\n" + all);
  EXPECT_EQ(subscriber.next(), "2\nsport\n" + sport);
  EXPECT_EQ(redis_.command_string({"GET", kLog + ":trend:seq"}), "2");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":trend:current", "*"}), "1\n*\n" + all);
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":trend:current", "sport"}),
            "2\nsport\n" + sport);
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":trend:sig", "*"}), "sig-1");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":trend:sig", "sport"}), "sig-2");

  // A newer list replaces the stored one.
  const std::string emptied = frame("sport");
  EXPECT_EQ(trending_publish("node-a", {"sport", "sig-3", emptied}).integer, 1);
  EXPECT_EQ(subscriber.next(), "3\nsport\n" + emptied);

  RedisValue current = fcall("newspush_trending_current", {}, true);
  ASSERT_EQ(current.type, Type::array) << current.text;
  std::vector<std::string> payloads;
  for (const auto& v : current.elements) payloads.push_back(v.text);
  EXPECT_THAT(payloads, UnorderedElementsAre("1\n*\n" + all, "3\nsport\n" + emptied));
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":trend:sig", "sport"}), "sig-3");

  // Once another node holds the lease, the old holder is fenced off.
  redis_.command({"SET", kLog + ":trend:leader", "node-b"});
  EXPECT_THAT(error_of(trending_publish("node-a", {"*", "late", all})),
              StartsWith("ERR newspush: not_leader: "));
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":trend:sig", "*"}), "sig-1");
  EXPECT_EQ(trending_publish("node-b", {"*", "sig-b", all}, "elsewhere").integer, 1);
  EXPECT_EQ(redis_.command_string({"GET", kLog + ":trend:seq"}), "4");
  // Nothing was announced on news:trending in between: the next message is this one.
  EXPECT_EQ(trending_publish("node-b", {"*", "sig-c", all}).integer, 1);
  EXPECT_EQ(subscriber.next(), "5\n*\n" + all);

  // No lease at all: nobody may publish.
  redis_.command({"DEL", kLog + ":trend:leader"});
  EXPECT_THAT(error_of(trending_publish("node-b", {"*", "sig", all})),
              StartsWith("ERR newspush: not_leader: "));
}

TEST_F(TrendingFunctions, CurrentIsEmptyBeforeAnyListAndReadOnly) {
  RedisValue current = fcall("newspush_trending_current", {}, true);
  ASSERT_EQ(current.type, Type::array) << current.text;
  EXPECT_TRUE(current.elements.empty());
  EXPECT_THAT(error_of(redis_.command({"FCALL_RO", "newspush_trending_tick", "1", kLog, "n",
                                       "1000", "10"})),
              ::testing::HasSubstr("write flag"));
}

// --- rebase -----------------------------------------------------------------------------------

TEST_F(TrendingFunctions, RebaseScalesEveryScoreAndMovesTheBase) {
  init();
  publish(article("a", "sport"));
  publish(article("b", "sport"));
  publish(article("c", "world"));
  publish(article("tiny", "culture"));
  publish(article("tiny2", "world"));
  base();
  view_ok("3", {"a"});
  view_ok("0.1", {"b"});
  view_ok("1.5", {"c"});
  view_ok("3e-9", {"tiny", "tiny2"});
  auto order_before = zrevrange("*");
  ASSERT_EQ(tick("node-a").role, "leader");

  const std::string new_t0 = "1795897200000";
  RedisValue ok = rebase("node-a", kNow, new_t0, kHalfLife, "0.25");
  ASSERT_EQ(ok.type, Type::string) << ok.text;
  EXPECT_EQ(ok.text, "ok");
  // A power of two scales exactly.
  EXPECT_EQ(zscore("sport", "a"), 3 * 0.25);
  EXPECT_EQ(zscore("*", "a"), 3 * 0.25);
  EXPECT_EQ(zscore("sport", "b"), 0.1 * 0.25);
  EXPECT_EQ(zscore("*", "b"), 0.1 * 0.25);
  EXPECT_EQ(zscore("world", "c"), 1.5 * 0.25);
  // 3e-9 * 0.25 < 1e-9: dropped, and culture with it.
  EXPECT_EQ(zscore("*", "tiny"), std::nullopt);
  EXPECT_EQ(zscore("world", "tiny2"), std::nullopt);
  EXPECT_FALSE(exists(kLog + ":trend:c:culture"));
  EXPECT_THAT(cats(), ElementsAre("sport", "world"));
  auto order_after = zrevrange("*");
  order_before.erase(std::remove_if(order_before.begin(), order_before.end(),
                                    [](const std::string& id) { return id.rfind("tiny", 0) == 0; }),
                     order_before.end());
  EXPECT_THAT(order_after, ElementsAreArray(order_before));

  EXPECT_EQ(base(), std::make_pair(new_t0, kHalfLife));
  RedisValue stale = view(kNow, "1", {"a"});
  ASSERT_EQ(stale.elements.size(), 3u) << stale.text;
  EXPECT_EQ(stale.elements[0].text, "rebased");
  EXPECT_EQ(stale.elements[1].text, new_t0);
  view_ok("1", {"a"}, new_t0);
  EXPECT_EQ(zscore("*", "a"), 1.75);

  // Repeated halvings stay exact: 0.5^k.
  for (int k = 1; k <= 5; ++k) {
    std::string from = std::to_string(1795897200000LL + (k - 1) * 7200000LL);
    std::string to = std::to_string(1795897200000LL + k * 7200000LL);
    ASSERT_EQ(rebase("node-a", from, to, kHalfLife, "0.5").text, "ok") << k;
    EXPECT_EQ(zscore("*", "a"), std::ldexp(1.75, -k));
    EXPECT_EQ(zscore("sport", "b"), std::ldexp(0.1 * 0.25, -k));
  }
  // A new half-life is stored with the base.
  ASSERT_EQ(rebase("node-a", "1795933200000", "1795933200000", "3600000", "1").text, "ok");
  EXPECT_EQ(base(), std::make_pair(std::string("1795933200000"), std::string("3600000")));
  EXPECT_EQ(zscore("*", "a"), std::ldexp(1.75, -5));
}

TEST_F(TrendingFunctions, RebaseIsFencedAndCompareAndSet) {
  init();
  publish(article("a", "sport"));
  base();
  view_ok("2", {"a"});
  ASSERT_EQ(tick("node-a").role, "leader");

  EXPECT_THAT(error_of(rebase("node-b", kNow, "1795897200000", kHalfLife, "0.5")),
              StartsWith("ERR newspush: not_leader: "));
  RedisValue stale = rebase("node-a", "1795880000000", "1795897200000", kHalfLife, "0.5");
  EXPECT_THAT(error_of(stale), StartsWith("ERR newspush: stale_base: "));
  EXPECT_THAT(error_of(stale), ::testing::HasSubstr("t0=" + kNow));
  EXPECT_EQ(zscore("*", "a"), 2.0);
  EXPECT_EQ(base(), std::make_pair(kNow, kHalfLife));

  redis_.command({"DEL", kLog + ":trend:base"});
  EXPECT_THAT(error_of(rebase("node-a", kNow, "1795897200000", kHalfLife, "0.5")),
              StartsWith("ERR newspush: stale_base: "));
  EXPECT_EQ(zscore("*", "a"), 2.0);
}

// --- release ----------------------------------------------------------------------------------

TEST_F(TrendingFunctions, ReleaseDeletesOnlyItsOwnLease) {
  const std::string leader_key = kLog + ":trend:leader";
  EXPECT_EQ(fcall("newspush_trending_release", {"node-a"}).integer, 0) << "no lease at all";
  ASSERT_EQ(tick("node-a").role, "leader");
  RedisValue other = fcall("newspush_trending_release", {"node-b"});
  ASSERT_EQ(other.type, Type::integer) << other.text;
  EXPECT_EQ(other.integer, 0);
  EXPECT_EQ(redis_.command_string({"GET", leader_key}), "node-a");
  EXPECT_EQ(fcall("newspush_trending_release", {"node-a"}).integer, 1);
  EXPECT_FALSE(exists(leader_key));
  EXPECT_EQ(fcall("newspush_trending_release", {"node-a"}).integer, 0);
  EXPECT_EQ(tick("node-b").role, "leader") << "released: another node takes over at once";
}

// --- publish and retract of articles ------------------------------------------------------------

TEST_F(TrendingFunctions, ArticleRecordsCarryTitleAndUrl) {
  init();
  publish(article("a", "sport", "Le titre", "https://example.com/a"));
  publish(article("b", "sport", "Sans lien"));
  publish(R"({"id":"c","category":"sport","title":"Odd url","url":42})");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":id:a", "title"}), "Le titre");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":id:a", "url"}), "https://example.com/a");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":id:b", "title"}), "Sans lien");
  RedisValue url = redis_.command({"HGET", kLog + ":id:b", "url"});
  EXPECT_EQ(url.type, Type::string) << "stored, empty";
  EXPECT_EQ(url.text, "");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":id:c", "url"}), "");

  publish(article("a", "sport", "Titre corrigé"), "update");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":id:a", "title"}), "Titre corrigé");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":id:a", "url"}), "") << "the url was dropped";
}

TEST_F(TrendingFunctions, RetractRemovesTheArticleFromTheLists) {
  init();
  publish(article("a", "sport"));
  publish(article("b", "world"));
  publish(article("c", "world"));
  base();
  view_ok("1", {"a", "b", "c", "c"});

  ASSERT_EQ(fcall("newspush_retract", {"a"}).type, Type::string);
  EXPECT_EQ(zscore("sport", "a"), std::nullopt);
  EXPECT_EQ(zscore("*", "a"), std::nullopt);
  EXPECT_THAT(cats(), ElementsAre("world")) << "sport lost its only member";
  ASSERT_EQ(fcall("newspush_retract", {"b"}).type, Type::string);
  EXPECT_THAT(zrevrange("world"), ElementsAre("c"));
  EXPECT_THAT(zrevrange("*"), ElementsAre("c"));
  EXPECT_THAT(cats(), ElementsAre("world"));
}

TEST_F(TrendingFunctions, AnUpdateThatMovesCategoryMovesTheScore) {
  init();
  publish(article("a", "world"));
  publish(article("b", "world"));
  base();
  view_ok("1", {"a", "a", "b"});

  publish(article("a", "world", "Same category, new title"), "update");
  EXPECT_EQ(zscore("world", "a"), 2.0);

  publish(article("a", "sport", "Moved"), "update");
  EXPECT_EQ(zscore("world", "a"), std::nullopt);
  EXPECT_EQ(zscore("sport", "a"), 2.0);
  EXPECT_EQ(zscore("*", "a"), 2.0) << "the overall score is unchanged";
  EXPECT_THAT(cats(), ElementsAre("sport", "world"));

  publish(article("b", "culture"), "update");
  EXPECT_EQ(zscore("culture", "b"), 1.0);
  EXPECT_THAT(cats(), ElementsAre("culture", "sport")) << "world emptied";

  // A move of an article nobody viewed creates no set.
  publish(article("quiet", "world"));
  publish(article("quiet", "science", "Moved"), "update");
  EXPECT_FALSE(exists(kLog + ":trend:c:science"));

  // Later views land in the new category.
  view_ok("1", {"a"});
  EXPECT_EQ(zscore("sport", "a"), 3.0);
  EXPECT_THAT(ids_of(tick("node-a").list("sport")), ElementsAre("a"));
}

// --- bad arguments ----------------------------------------------------------------------------

TEST_F(TrendingFunctions, BadArgumentsAreRejectedWithACodeAndChangeNothing) {
  init();
  publish(article("a", "sport"));
  base();
  ASSERT_EQ(tick("node-a").role, "leader");
  const std::string long_node(257, 'n');
  const std::string long_id(129, 'x');
  std::vector<std::string> too_many(1001, "a");
  std::vector<std::string> view_too_many{kNow, "1"};
  view_too_many.insert(view_too_many.end(), too_many.begin(), too_many.end());

  struct Case {
    std::string function;
    std::vector<std::string> args;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"newspush_trending_base", {}, "bad_hl"},
      {"newspush_trending_base", {"0", kNow}, "bad_hl"},
      {"newspush_trending_base", {"-5", kNow}, "bad_hl"},
      {"newspush_trending_base", {"1.5", kNow}, "bad_hl"},
      {"newspush_trending_base", {kHalfLife}, "bad_now"},
      {"newspush_trending_base", {kHalfLife, "soon"}, "bad_now"},
      {"newspush_trending_base", {kHalfLife, "1e12"}, "bad_now"},

      {"newspush_view", {}, "bad_t0"},
      {"newspush_view", {"x", "1", "a"}, "bad_t0"},
      {"newspush_view", {"1.5", "1", "a"}, "bad_t0"},
      {"newspush_view", {"1234567890123456", "1", "a"}, "bad_t0"},
      {"newspush_view", {kNow, "", "a"}, "bad_weight"},
      {"newspush_view", {kNow, "0", "a"}, "bad_weight"},
      {"newspush_view", {kNow, "-1", "a"}, "bad_weight"},
      {"newspush_view", {kNow, "nan", "a"}, "bad_weight"},
      {"newspush_view", {kNow, "inf", "a"}, "bad_weight"},
      {"newspush_view", {kNow, "1e400", "a"}, "bad_weight"},
      {"newspush_view", {kNow, "0x10", "a"}, "bad_weight"},
      {"newspush_view", {kNow, " 1", "a"}, "bad_weight"},
      {"newspush_view", {kNow, "1..2", "a"}, "bad_weight"},
      {"newspush_view", {kNow, "1"}, "bad_ids"},
      {"newspush_view", view_too_many, "bad_ids"},
      {"newspush_view", {kNow, "1", "a", ""}, "bad_id"},
      {"newspush_view", {kNow, "1", "a", long_id}, "bad_id"},

      {"newspush_trending_tick", {"", "1000", "10"}, "bad_node"},
      {"newspush_trending_tick", {long_node, "1000", "10"}, "bad_node"},
      {"newspush_trending_tick", {"node-b"}, "bad_lease"},
      {"newspush_trending_tick", {"node-b", "0", "10"}, "bad_lease"},
      {"newspush_trending_tick", {"node-b", "2s", "10"}, "bad_lease"},
      {"newspush_trending_tick", {"node-b", "86400001", "10"}, "bad_lease"},
      {"newspush_trending_tick", {"node-b", "1000"}, "bad_limit"},
      {"newspush_trending_tick", {"node-b", "1000", "0"}, "bad_limit"},
      {"newspush_trending_tick", {"node-b", "1000", "101"}, "bad_limit"},
      {"newspush_trending_tick", {"node-b", "1000", "ten"}, "bad_limit"},

      {"newspush_trending_publish", {"", kTrending, "*", "s", "{}"}, "bad_node"},
      {"newspush_trending_publish", {"node-a", "", "*", "s", "{}"}, "bad_channel"},
      {"newspush_trending_publish", {"node-a", kTrending, "*", "s"}, "bad_args"},
      {"newspush_trending_publish", {"node-a", kTrending, "*", "s", "{}", "sport"}, "bad_args"},
      {"newspush_trending_publish", {"node-a", kTrending, "Sport", "s", "{}"}, "bad_category"},
      {"newspush_trending_publish", {"node-a", kTrending, "", "s", "{}"}, "bad_category"},
      {"newspush_trending_publish",
       {"node-a", kTrending, "*", "s", "{}", "**", "s", "{}"},
       "bad_category"},
      {"newspush_trending_publish", {"node-a", kTrending, "*", "s", ""}, "bad_frame"},
      {"newspush_trending_publish", {"node-a", kTrending, "*", "s", "{}\n{}"}, "bad_frame"},

      {"newspush_trending_rebase", {"", kNow, kNow, kHalfLife, "0.5"}, "bad_node"},
      {"newspush_trending_rebase", {"node-a", "x", kNow, kHalfLife, "0.5"}, "bad_t0"},
      {"newspush_trending_rebase", {"node-a", kNow, "", kHalfLife, "0.5"}, "bad_t0"},
      {"newspush_trending_rebase", {"node-a", kNow, kNow, "0", "0.5"}, "bad_hl"},
      {"newspush_trending_rebase", {"node-a", kNow, kNow, kHalfLife}, "bad_factor"},
      {"newspush_trending_rebase", {"node-a", kNow, kNow, kHalfLife, "0"}, "bad_factor"},
      {"newspush_trending_rebase", {"node-a", kNow, kNow, kHalfLife, "-0.5"}, "bad_factor"},
      {"newspush_trending_rebase", {"node-a", kNow, kNow, kHalfLife, "1.5"}, "bad_factor"},
      {"newspush_trending_rebase", {"node-a", kNow, kNow, kHalfLife, "nan"}, "bad_factor"},
      {"newspush_trending_rebase", {"node-a", kNow, kNow, kHalfLife, "half"}, "bad_factor"},

      {"newspush_trending_release", {}, "bad_node"},
      {"newspush_trending_release", {""}, "bad_node"},
  };
  for (const auto& c : cases) {
    std::string described = c.function;
    for (const auto& a : c.args) described += " [" + a.substr(0, 20) + "]";
    EXPECT_THAT(error_of(fcall(c.function, c.args)), StartsWith("ERR newspush: " + c.code + ": "))
        << described;
  }
  EXPECT_THAT(error_of(redis_.command({"FCALL", "newspush_view", "0", kNow, "1", "a"})),
              StartsWith("ERR newspush: bad_keys: "));
  EXPECT_THAT(error_of(redis_.command({"FCALL", "newspush_trending_tick", "2", kLog, "x", "n",
                                       "1000", "10"})),
              StartsWith("ERR newspush: bad_keys: "));

  // Nothing above wrote anything.
  EXPECT_FALSE(exists(kLog + ":trend:c:*"));
  EXPECT_FALSE(exists(kLog + ":trend:cats"));
  EXPECT_FALSE(exists(kLog + ":trend:seq"));
  EXPECT_FALSE(exists(kLog + ":trend:current"));
  EXPECT_EQ(base(), std::make_pair(kNow, kHalfLife));
  EXPECT_EQ(redis_.command_string({"GET", kLog + ":trend:leader"}), "node-a");

  // The limits themselves are accepted.
  std::vector<std::string> thousand(1000, "a");
  EXPECT_EQ(view_ok("1e-300", thousand), std::make_pair(1000LL, 0LL));
  EXPECT_EQ(view_ok("1.7976931348623157e308", {"a"}), std::make_pair(1LL, 0LL));
  EXPECT_EQ(tick("node-a", "86400000", "100").role, "leader");
  EXPECT_EQ(tick(std::string(256, 'n'), "1", "1").role, "follower");
  EXPECT_EQ(trending_publish("node-a", {"0-9-a", "", frame("0-9-a")}).integer, 1);
  EXPECT_EQ(rebase("node-a", kNow, kNow, kHalfLife, "1").text, "ok");
}

}  // namespace
}  // namespace newspush::test

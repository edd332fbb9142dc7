// The Redis Functions library server/redis/newspush.lua against a real redis-server: publish,
// retract, read after a cursor, recent, resets, trimming, restarts with and without persistence.
// The library is read from the source tree at run time, so editing it needs no rebuild.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "tests/support/functions_library.hpp"
#include "tests/support/redis_server.hpp"

namespace newspush::test {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Type = RedisValue::Type;

const std::string kLog = "news:log";
const std::string kChannel = "news:events";

std::string article(const std::string& id, const std::string& category, bool breaking = false,
                    const std::string& title = "") {
  json a = {{"id", id}, {"category", category}, {"title", title.empty() ? "Titre " + id : title}};
  if (breaking) a["breaking"] = true;
  return a.dump();
}

std::string epoch_of(const std::string& cursor) { return cursor.substr(0, cursor.find(':')); }
std::string stream_id_of(const std::string& cursor) { return cursor.substr(cursor.find(':') + 1); }

// (ms, seq) of a cursor or stream id, for ordering assertions.
std::pair<unsigned long long, unsigned long long> id_pair(const std::string& cursor) {
  std::string id = stream_id_of(cursor);
  auto dash = id.find('-');
  return {std::stoull(id.substr(0, dash)), std::stoull(id.substr(dash + 1))};
}

struct Entry {
  std::string cursor, kind, category, breaking, body;
};

struct ReadResult {
  std::string status, head;
  std::vector<Entry> entries;
};

std::vector<Entry> entries_from(const RedisValue& reply, std::size_t first) {
  std::vector<Entry> entries;
  for (std::size_t i = first; i + 5 <= reply.elements.size(); i += 5) {
    const auto& e = reply.elements;
    entries.push_back({e[i].text, e[i + 1].text, e[i + 2].text, e[i + 3].text, e[i + 4].text});
  }
  return entries;
}

std::vector<std::string> cursors_of(const std::vector<Entry>& entries) {
  std::vector<std::string> cursors;
  for (const auto& e : entries) cursors.push_back(e.cursor);
  return cursors;
}

std::vector<std::string> ids_of(const std::vector<Entry>& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries) ids.push_back(json::parse(e.body).at("id").get<std::string>());
  return ids;
}

struct Notification {
  std::string cursor, kind, body;
};

Notification split(const std::string& message) {
  auto first = message.find('\n');
  auto second = message.find('\n', first + 1);
  if (first == std::string::npos || second == std::string::npos)
    throw std::runtime_error("malformed notification: " + message);
  return {message.substr(0, first), message.substr(first + 1, second - first - 1),
          message.substr(second + 1)};
}

class HistoryFunctions : public FunctionsLibraryTest {
 protected:
  explicit HistoryFunctions(RedisServerOptions options = {}) : FunctionsLibraryTest(options) {}

  std::string init(const std::string& maxlen = "10000",
                   const std::string& max_age_ms = "86400000") {
    RedisValue head = fcall("newspush_init", {maxlen, max_age_ms, kChannel});
    EXPECT_EQ(head.type, Type::string) << head.text;
    return head.text;
  }

  std::string head() { return fcall("newspush_head", {}, true).text; }

  Notification publish_ok(const std::string& body, const std::string& expected_kind = "article") {
    RedisValue reply = fcall("newspush_publish", {body});
    EXPECT_EQ(reply.type, Type::array) << reply.text;
    if (reply.elements.size() != 2) {
      ADD_FAILURE() << "publish of " << body << " answered " << reply.text;
      return {};
    }
    EXPECT_EQ(reply.elements[1].text, expected_kind);
    return {reply.elements[0].text, reply.elements[1].text, body};
  }
  std::string publish(const std::string& body) { return publish_ok(body).cursor; }

  // The error text of a rejected call ("" when it was not rejected).
  std::string error_of(const RedisValue& reply) {
    return reply.type == Type::error ? reply.text : "";
  }

  std::string retract(const std::string& id) {
    RedisValue reply = fcall("newspush_retract", {id});
    EXPECT_EQ(reply.type, Type::string) << reply.text;
    return reply.text;
  }

  ReadResult read(const std::string& since, const std::string& count = "") {
    std::vector<std::string> args{since};
    if (!count.empty()) args.push_back(count);
    RedisValue reply = fcall("newspush_read", args, true);
    if (reply.type != Type::array || reply.elements.size() < 2) {
      ADD_FAILURE() << "read answered " << reply.text;
      return {};
    }
    EXPECT_EQ((reply.elements.size() - 2) % 5, 0u);
    return {reply.elements[0].text, reply.elements[1].text, entries_from(reply, 2)};
  }

  // {head, entries} of newspush_recent.
  std::pair<std::string, std::vector<Entry>> recent(const std::string& category,
                                                    const std::string& limit = "",
                                                    const std::string& scan_cap = "") {
    std::vector<std::string> args{category};
    if (!limit.empty()) args.push_back(limit);
    if (!scan_cap.empty()) args.push_back(scan_cap);
    RedisValue reply = fcall("newspush_recent", args, true);
    if (reply.type != Type::array || reply.elements.empty()) {
      ADD_FAILURE() << "recent answered " << reply.text;
      return {};
    }
    EXPECT_EQ((reply.elements.size() - 1) % 5, 0u);
    return {reply.elements[0].text, entries_from(reply, 1)};
  }

  long long xlen() { return redis_.command({"XLEN", kLog}).integer; }

  // The stored fields of the entry a cursor names.
  std::map<std::string, std::string> entry_at(const std::string& cursor) {
    std::string id = stream_id_of(cursor);
    RedisValue range = redis_.command({"XRANGE", kLog, id, id});
    std::map<std::string, std::string> fields;
    if (range.elements.size() != 1) return fields;
    const auto& list = range.elements[0].elements[1].elements;
    for (std::size_t i = 0; i + 1 < list.size(); i += 2) fields[list[i].text] = list[i + 1].text;
    return fields;
  }
};

class HistoryFunctionsAof : public HistoryFunctions {
 protected:
  HistoryFunctionsAof() : HistoryFunctions(RedisServerOptions{.append_only = true}) {}
};

// --- init and head --------------------------------------------------------------------------

TEST_F(HistoryFunctions, HeadIsEmptyUntilInitCreatesTheEpoch) {
  EXPECT_EQ(head(), "");
  ReadResult r = read("anything:0-0");
  EXPECT_EQ(r.status, "reset:unknown_cursor");
  EXPECT_EQ(r.head, "");

  std::string first = init();
  EXPECT_THAT(first, ::testing::MatchesRegex("[0-9a-z]+:0-0"));
  EXPECT_EQ(head(), first);
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":config", "maxlen"}), "10000");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":config", "channel"}), kChannel);
  EXPECT_EQ(init("50", "1000"), first) << "a second init keeps the epoch";
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":config", "max_age_ms"}), "1000");
}

TEST_F(HistoryFunctions, HeadFollowsTheStream) {
  std::string empty = init();
  std::string a = publish(article("a", "world"));
  EXPECT_EQ(epoch_of(a), epoch_of(empty));
  EXPECT_EQ(head(), a);
  std::string b = publish(article("b", "world"));
  EXPECT_EQ(head(), b);
  EXPECT_EQ(init(), b) << "init returns the head of a non-empty stream";
}

TEST_F(HistoryFunctions, InitRejectsBadConfigAndCallsNeedExactlyOneKey) {
  EXPECT_THAT(error_of(fcall("newspush_init", {"0", "1000", kChannel})),
              StartsWith("ERR newspush: bad_config:"));
  EXPECT_THAT(error_of(fcall("newspush_init", {"10", "soon", kChannel})),
              StartsWith("ERR newspush: bad_config:"));
  EXPECT_THAT(error_of(redis_.command({"FCALL_RO", "newspush_head", "0"})),
              StartsWith("ERR newspush: bad_keys:"));
  EXPECT_THAT(
      error_of(redis_.command({"FCALL_RO", "newspush_publish", "1", kLog, article("a", "world")})),
      HasSubstr("write flag"))
      << "writers are refused by FCALL_RO";
}

// --- publish ----------------------------------------------------------------------------------

TEST_F(HistoryFunctions, PublishStoresTheArticleByteForByte) {
  init();
  const std::vector<std::string> bodies = {
      R"({"id":"é1","category":"monde","title":"Élections à Québec : «résultats» ⚡"})",
      R"({"title":"Keys out of order","category":"world","id":"k1","extra":{"b":[1,2,{"c":null}],"a":1.50}})",
      "{\n  \"id\": \"nl1\",\n  \"category\": \"world\",\n\t\"title\": \"Raw newlines\"\n}\n",
      R"({"id":"esc1","category":"world","title":"Escapes \u00e9 \/ \" \\","breaking":false})",
      R"({"id":"big1","category":"world","title":"Numbers","n":12345678901234567890123,"f":1e400})",
  };
  for (const std::string& body : bodies) {
    std::string cursor = publish(body);
    auto fields = entry_at(cursor);
    EXPECT_EQ(fields["b"], body);
    EXPECT_EQ(fields["k"], "article");
    EXPECT_EQ(fields["br"], "0");
  }
  ReadResult r = read(epoch_of(head()) + ":0-0");
  ASSERT_EQ(r.entries.size(), bodies.size());
  for (std::size_t i = 0; i < bodies.size(); ++i) EXPECT_EQ(r.entries[i].body, bodies[i]);
  EXPECT_EQ(r.entries[0].category, "monde");
}

TEST_F(HistoryFunctions, PublishRecordsCategoryAndBreaking) {
  init();
  std::string cursor = publish(article("b1", "sport", true));
  auto fields = entry_at(cursor);
  EXPECT_EQ(fields["c"], "sport");
  EXPECT_EQ(fields["br"], "1");
  std::string record = kLog + ":id:b1";
  EXPECT_EQ(redis_.command_string({"HGET", record, "cursor"}), cursor);
  EXPECT_EQ(redis_.command_string({"HGET", record, "category"}), "sport");
  EXPECT_EQ(redis_.command_string({"HGET", record, "breaking"}), "1");
  long long ttl = redis_.command({"PTTL", record}).integer;
  EXPECT_GT(ttl, 86000000);
  EXPECT_LE(ttl, 86400000);
}

TEST_F(HistoryFunctions, NotificationIsCursorKindAndBody) {
  init();
  ChannelSubscriber subscriber(redis_.port(), kChannel);
  std::string body = "{\"id\":\"n1\",\n\"category\":\"world\",\n\"title\":\"Deux\\nlignes\"}";
  std::string cursor = publish(body);
  std::string message = subscriber.next();
  EXPECT_EQ(message, cursor + "\narticle\n" + body);
  Notification n = split(message);
  EXPECT_EQ(n.cursor, cursor);
  EXPECT_EQ(n.kind, "article");
  EXPECT_EQ(n.body, body);
}

TEST_F(HistoryFunctions, NotificationGoesToTheConfiguredChannel) {
  ASSERT_EQ(fcall("newspush_init", {"100", "60000", "elsewhere"}).type, Type::string);
  ChannelSubscriber subscriber(redis_.port(), "elsewhere");
  std::string cursor = publish(article("c1", "world"));
  EXPECT_EQ(split(subscriber.next()).cursor, cursor);
}

TEST_F(HistoryFunctions, CursorsIncrease) {
  init();
  std::string previous = publish(article("x0", "world"));
  for (int i = 1; i < 50; ++i) {
    std::string cursor = publish(article("x" + std::to_string(i), "world"));
    EXPECT_EQ(epoch_of(cursor), epoch_of(previous));
    EXPECT_LT(id_pair(previous), id_pair(cursor));
    previous = cursor;
  }
}

TEST_F(HistoryFunctions, RetriedPublishReturnsTheSameCursorAndChangesNothing) {
  init();
  ChannelSubscriber subscriber(redis_.port(), kChannel);
  std::string body = article("d1", "world");
  std::string cursor = publish(body);
  EXPECT_EQ(split(subscriber.next()).cursor, cursor);

  RedisValue again = fcall("newspush_publish", {body});
  ASSERT_EQ(again.elements.size(), 2u) << again.text;
  EXPECT_EQ(again.elements[0].text, cursor);
  EXPECT_EQ(again.elements[1].text, "duplicate");
  EXPECT_EQ(xlen(), 1);
  EXPECT_EQ(head(), cursor);

  std::string next = publish(article("d2", "world"));
  Notification n = split(subscriber.next());
  EXPECT_EQ(n.cursor, next) << "the duplicate must not have been announced";
}

TEST_F(HistoryFunctions, ChangedContentIsAnUpdateAndMayMoveCategory) {
  init();
  ChannelSubscriber subscriber(redis_.port(), kChannel);
  std::string first = publish(article("u1", "world"));
  std::string corrected = article("u1", "sport", true, "Corrected title");
  Notification update = publish_ok(corrected, "update");
  EXPECT_LT(id_pair(first), id_pair(update.cursor));
  EXPECT_EQ(xlen(), 2);
  auto fields = entry_at(update.cursor);
  EXPECT_EQ(fields["k"], "update");
  EXPECT_EQ(fields["c"], "sport");
  EXPECT_EQ(fields["b"], corrected);
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":id:u1", "category"}), "sport");
  EXPECT_EQ(redis_.command_string({"HGET", kLog + ":id:u1", "cursor"}), update.cursor);

  split(subscriber.next());
  Notification n = split(subscriber.next());
  EXPECT_EQ(n.kind, "update");
  EXPECT_EQ(n.body, corrected);

  // Re-sending the correction is now the duplicate.
  RedisValue again = fcall("newspush_publish", {corrected});
  EXPECT_EQ(again.elements.at(1).text, "duplicate");
  EXPECT_EQ(again.elements.at(0).text, update.cursor);
}

TEST_F(HistoryFunctions, InvalidArticlesAreRejectedWithACode) {
  init();
  const std::string long_id(129, 'x');
  const std::string long_category(33, 'a');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not_json"},
      {"{", "not_json"},
      {"nope", "not_json"},
      {R"({"id":"a",})", "not_json"},
      {"[1,2]", "not_object"},
      {"[]", "not_object"},
      {R"("string")", "not_object"},
      {"42", "not_object"},
      {"null", "not_object"},
      {R"({"category":"world","title":"t"})", "bad_id"},
      {R"({"id":42,"category":"world","title":"t"})", "bad_id"},
      {R"({"id":"","category":"world","title":"t"})", "bad_id"},
      {R"({"id":null,"category":"world","title":"t"})", "bad_id"},
      {R"({"id":")" + long_id + R"(","category":"world","title":"t"})", "bad_id"},
      {R"({"id":"a","title":"t"})", "bad_category"},
      {R"({"id":"a","category":"World","title":"t"})", "bad_category"},
      {R"({"id":"a","category":"","title":"t"})", "bad_category"},
      {R"({"id":"a","category":"a_b","title":"t"})", "bad_category"},
      {R"({"id":"a","category":"a b","title":"t"})", "bad_category"},
      {R"({"id":"a","category":")" + long_category + R"(","title":"t"})", "bad_category"},
      {R"({"id":"a","category":7,"title":"t"})", "bad_category"},
      {R"({"id":"a","category":"world"})", "bad_title"},
      {R"({"id":"a","category":"world","title":""})", "bad_title"},
      {R"({"id":"a","category":"world","title":5})", "bad_title"},
      {R"({"id":"a","category":"world","title":"t","breaking":null})", "bad_breaking"},
      {R"({"id":"a","category":"world","title":"t","breaking":"true"})", "bad_breaking"},
      {R"({"id":"a","category":"world","title":"t","breaking":1})", "bad_breaking"},
  };
  ChannelSubscriber subscriber(redis_.port(), kChannel);
  for (const auto& [body, code] : cases) {
    EXPECT_THAT(error_of(fcall("newspush_publish", {body})),
                StartsWith("ERR newspush: " + code + ": "))
        << body;
  }
  EXPECT_THAT(error_of(redis_.command({"FCALL", "newspush_publish", "1", kLog})),
              StartsWith("ERR newspush: not_json: "));
  EXPECT_EQ(xlen(), 0);
  EXPECT_EQ(redis_.command({"KEYS", kLog + ":id:*"}).elements.size(), 0u);

  // The limits themselves are accepted, and nothing was announced before them.
  std::string edge = R"({"id":")" + std::string(128, 'x') + R"(","category":")" +
                     std::string(32, 'a') + R"(","title":"t","breaking":true})";
  std::string cursor = publish(edge);
  EXPECT_EQ(split(subscriber.next()).cursor, cursor);
  EXPECT_EQ(publish_ok(R"({"id":"z","category":"0-9-a","title":" "})").kind, "article");
}

// --- retract ----------------------------------------------------------------------------------

TEST_F(HistoryFunctions, RetractUsesTheRecordedCategoryAndBreaking) {
  init();
  ChannelSubscriber subscriber(redis_.port(), kChannel);
  std::string published = publish(article("r1", "sport", true));
  split(subscriber.next());

  std::string cursor = retract("r1");
  EXPECT_EQ(epoch_of(cursor), epoch_of(published));
  EXPECT_LT(id_pair(published), id_pair(cursor));
  auto fields = entry_at(cursor);
  EXPECT_EQ(fields["k"], "retract");
  EXPECT_EQ(fields["c"], "sport");
  EXPECT_EQ(fields["br"], "1");
  EXPECT_EQ(json::parse(fields["b"]),
            json({{"id", "r1"}, {"category", "sport"}, {"breaking", true}}));

  Notification n = split(subscriber.next());
  EXPECT_EQ(n.cursor, cursor);
  EXPECT_EQ(n.kind, "retract");
  EXPECT_EQ(n.body, fields["b"]);

  EXPECT_EQ(redis_.command({"EXISTS", kLog + ":id:r1"}).integer, 0);
  EXPECT_THAT(error_of(fcall("newspush_retract", {"r1"})), StartsWith("ERR newspush: not_found:"));
  EXPECT_THAT(error_of(fcall("newspush_retract", {"never"})),
              StartsWith("ERR newspush: not_found:"));
  EXPECT_EQ(xlen(), 2);
}

TEST_F(HistoryFunctions, RetractFollowsACategoryMoveAndAllowsARepublish) {
  init();
  publish(article("m1", "world"));
  publish_ok(article("m1", "culture", false, "Moved"), "update");
  auto fields = entry_at(retract("m1"));
  EXPECT_EQ(fields["c"], "culture");
  EXPECT_EQ(fields["br"], "0");
  EXPECT_EQ(json::parse(fields["b"]).at("breaking"), false);
  // After a retract the id is free again: the same content is a new article, not a duplicate.
  publish_ok(article("m1", "world"), "article");
}

// --- read -------------------------------------------------------------------------------------

TEST_F(HistoryFunctions, ReadReturnsExactlyTheLaterEntriesInOrder) {
  std::string start = init();
  std::vector<std::string> cursors;
  for (int i = 0; i < 10; ++i)
    cursors.push_back(publish(article("o" + std::to_string(i), i % 2 ? "sport" : "world", i == 3)));
  std::string retracted = retract("o4");

  ReadResult all = read(start);
  EXPECT_EQ(all.status, "ok");
  EXPECT_EQ(all.head, retracted);
  ASSERT_EQ(all.entries.size(), 11u);
  std::vector<std::string> expected = cursors;
  expected.push_back(retracted);
  EXPECT_THAT(cursors_of(all.entries), ElementsAreArray(expected));
  EXPECT_EQ(all.entries[3].breaking, "1");
  EXPECT_EQ(all.entries[3].kind, "article");
  EXPECT_EQ(all.entries[1].category, "sport");
  EXPECT_EQ(all.entries[10].kind, "retract");
  EXPECT_EQ(all.entries[10].category, "world");

  ReadResult later = read(cursors[6]);
  EXPECT_EQ(later.status, "ok");
  EXPECT_THAT(cursors_of(later.entries),
              ElementsAre(cursors[7], cursors[8], cursors[9], retracted));

  ReadResult none = read(retracted);
  EXPECT_EQ(none.status, "ok");
  EXPECT_TRUE(none.entries.empty());
}

TEST_F(HistoryFunctions, ReadPagesWithMore) {
  std::string cursor = init();
  std::vector<std::string> cursors;
  for (int i = 0; i < 5; ++i) cursors.push_back(publish(article("p" + std::to_string(i), "world")));

  std::vector<std::string> seen;
  std::vector<std::string> statuses;
  for (;;) {
    ReadResult page = read(cursor, "2");
    statuses.push_back(page.status);
    for (const auto& e : page.entries) seen.push_back(e.cursor);
    if (page.status != "more") break;
    cursor = page.entries.back().cursor;
  }
  EXPECT_THAT(statuses, ElementsAre("more", "more", "ok"));
  EXPECT_THAT(seen, ElementsAreArray(cursors));

  // A page that ends exactly at the head has nothing more to offer.
  EXPECT_EQ(read(cursors[2], "2").status, "ok");
  EXPECT_THAT(error_of(fcall("newspush_read", {cursors[0], "0"}, true)),
              StartsWith("ERR newspush: bad_count:"));
}

TEST_F(HistoryFunctions, ReadResetsOnForeignOrFutureCursors) {
  std::string start = init();
  std::string a = publish(article("f1", "world"));
  std::string epoch = epoch_of(a);
  auto [ms, seq] = id_pair(a);
  const std::vector<std::string> unknown = {
      "",
      "garbage",
      epoch,
      epoch + ":",
      epoch + ":abc",
      epoch + ":1-2-3",
      epoch + ":12",
      ":" + stream_id_of(a),
      "zzz" + epoch + ":0-0",
      epoch + ":" + std::to_string(ms) + "-" + std::to_string(seq + 1),
      epoch + ":" + std::to_string(ms + 1) + "-0",
      epoch + ":99999999999999999999-0",
      epoch + ":" + stream_id_of(a) + ":x",
  };
  for (const std::string& since : unknown) {
    ReadResult r = read(since);
    EXPECT_EQ(r.status, "reset:unknown_cursor") << since;
    EXPECT_EQ(r.head, a);
    EXPECT_TRUE(r.entries.empty());
  }
  // Leading zeros still name the same id.
  EXPECT_EQ(read(epoch + ":000" + std::to_string(ms) + "-0" + std::to_string(seq)).status, "ok");
  EXPECT_EQ(read(start).entries.size(), 1u);

  // The history is lost and begins again: same stream ids may come back, the epoch does not.
  redis_.command({"DEL", kLog, kLog + ":epoch"});
  std::string fresh = init();
  EXPECT_NE(epoch_of(fresh), epoch);
  publish(article("f2", "world"));
  EXPECT_EQ(read(a).status, "reset:unknown_cursor");
  EXPECT_EQ(read(start).status, "reset:unknown_cursor");
  EXPECT_EQ(read(fresh).status, "ok");
}

// A failover promotes a replica that never got the newest writes (replication is asynchronous).
// A cursor naming one of them must reset even once the new primary appended past it: read after
// it otherwise continues as if the client had what the new log holds before that id.
TEST_F(HistoryFunctions, ReadResetsACursorThePromotedReplicaNeverHad) {
  init();
  RedisServerOptions replica_options;
  replica_options.extra_args = {"--replicaof", "127.0.0.1", std::to_string(redis_.port())};
  redis_.command({"CONFIG", "SET", "repl-diskless-sync-delay", "0"});  // sync at once, not in 5 s
  RedisServer replica(replica_options);
  std::string kept = publish(article("r1", "world"));
  // The replica holds r1 (and the library) before the split. Not WAIT: each command of the test
  // runs on a connection of its own, and WAIT only covers its own connection's writes.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (replica.command({"XLEN", kLog}).integer != 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(replica.command({"XLEN", kLog}).integer, 1);
  ASSERT_EQ(replica.command({"REPLICAOF", "NO", "ONE"}).text, "OK");
  std::string lost = publish(article("r2", "world"));  // only on the old primary
  // The promoted replica's next id must be a later millisecond than the lost one (same clock).
  auto lost_ms = id_pair(lost).first;
  auto replica_ms = [&] {
    auto time = replica.command({"TIME"});
    return std::stoull(time.elements.at(0).text) * 1000 + std::stoull(time.elements.at(1).text) / 1000;
  };
  while (replica_ms() <= lost_ms) {
  }
  auto on_replica = [&](const std::string& function, const std::string& argument) {
    return replica.command({"FCALL", function, "1", kLog, argument});
  };
  RedisValue published = on_replica("newspush_publish", article("r3", "world"));
  ASSERT_EQ(published.type, Type::array) << published.text;
  ASSERT_GT(id_pair(published.elements.at(0).text), id_pair(lost));

  RedisValue behind = on_replica("newspush_read", lost);
  EXPECT_EQ(behind.elements.at(0).text, "reset:unknown_cursor");
  EXPECT_EQ(behind.elements.at(1).text, published.elements.at(0).text);
  // A cursor the promoted replica does have continues exactly.
  RedisValue fine = on_replica("newspush_read", kept);
  ASSERT_EQ(fine.elements.at(0).text, "ok");
  EXPECT_THAT(ids_of(entries_from(fine, 2)), ElementsAre("r3"));
}

TEST_F(HistoryFunctions, ReadResetsWhenEntriesAfterTheCursorWereTrimmed) {
  std::string start = init("10");
  std::vector<std::string> cursors;
  for (int i = 0; i < 200; ++i) cursors.push_back(publish(article("t" + std::to_string(i), "w")));
  ASSERT_LT(xlen(), 200) << "MAXLEN must have trimmed";

  EXPECT_EQ(read(cursors.front()).status, "reset:cursor_too_old");
  EXPECT_EQ(read(start).status, "reset:cursor_too_old");
  ReadResult r = read(cursors[195]);
  EXPECT_EQ(r.status, "ok");
  EXPECT_THAT(cursors_of(r.entries),
              ElementsAre(cursors[196], cursors[197], cursors[198], cursors[199]));

  // The boundary is exact: the newest trimmed entry is still a complete cursor, the one before
  // it is not.
  RedisValue first = redis_.command({"XRANGE", kLog, "-", "+", "COUNT", "1"});
  std::string first_cursor = epoch_of(start) + ":" + first.elements.at(0).elements.at(0).text;
  auto it = std::find(cursors.begin(), cursors.end(), first_cursor);
  ASSERT_NE(it, cursors.end());
  ASSERT_NE(it, cursors.begin());
  std::size_t first_kept = static_cast<std::size_t>(it - cursors.begin());
  ReadResult boundary = read(cursors[first_kept - 1]);
  EXPECT_EQ(boundary.status, "ok");
  ASSERT_FALSE(boundary.entries.empty());
  EXPECT_EQ(boundary.entries.front().cursor, first_cursor);
  EXPECT_EQ(boundary.entries.size(), 200 - first_kept);
  if (first_kept >= 2) {
    EXPECT_EQ(read(cursors[first_kept - 2]).status, "reset:cursor_too_old");
  }
}

TEST_F(HistoryFunctions, PublishTrimsEntriesOlderThanMaxAge) {
  std::string start = init();
  // An entry from 1970: the next publish must remove it, whatever the clock says.
  redis_.command({"XADD", kLog, "1-0", "k", "article", "b", "{}"});
  std::string cursor = publish(article("age1", "world"));
  RedisValue range = redis_.command({"XRANGE", kLog, "-", "+"});
  ASSERT_EQ(range.elements.size(), 1u);
  EXPECT_EQ(range.elements[0].elements[0].text, stream_id_of(cursor));

  EXPECT_EQ(read(start).status, "reset:cursor_too_old") << "1-0 was lost after 0-0";
  ReadResult r = read(epoch_of(start) + ":1-0");
  EXPECT_EQ(r.status, "ok");
  EXPECT_THAT(cursors_of(r.entries), ElementsAre(cursor));
}

TEST_F(HistoryFunctions, AnEmptiedStreamKeepsItsHead) {
  std::string start = init();
  std::string a = publish(article("e1", "world"));
  std::string b = publish(article("e2", "world"));
  redis_.command({"XTRIM", kLog, "MAXLEN", "0"});  // as if every entry had aged out
  EXPECT_EQ(head(), b);
  EXPECT_EQ(read(b).status, "ok");
  EXPECT_EQ(read(a).status, "reset:cursor_too_old");
  EXPECT_EQ(read(start).status, "reset:cursor_too_old");
  std::string c = publish(article("e3", "world"));
  ReadResult r = read(b);
  EXPECT_EQ(r.status, "ok");
  EXPECT_THAT(cursors_of(r.entries), ElementsAre(c));
}

TEST_F(HistoryFunctions, ReadNoticesDeletedEntries) {
  std::string start = init();
  std::string a = publish(article("x1", "world"));
  std::string b = publish(article("x2", "world"));
  std::string c = publish(article("x3", "world"));
  redis_.command({"XDEL", kLog, stream_id_of(b)});
  EXPECT_EQ(read(a).status, "reset:cursor_too_old");
  EXPECT_EQ(read(b).status, "ok");
  EXPECT_THAT(cursors_of(read(b).entries), ElementsAre(c));
}

// --- recent -----------------------------------------------------------------------------------

TEST_F(HistoryFunctions, RecentFiltersByCategoryNewestFirst) {
  init();
  publish(article("w1", "world"));
  publish(article("s1", "sport"));
  publish(article("w2", "world", true));
  std::string last = publish(article("s2", "sport"));

  auto [head_cursor, world] = recent("world");
  EXPECT_EQ(head_cursor, last);
  EXPECT_THAT(ids_of(world), ElementsAre("w2", "w1"));
  EXPECT_EQ(world[0].breaking, "1");
  EXPECT_EQ(world[0].category, "world");
  EXPECT_EQ(world[0].kind, "article");
  EXPECT_EQ(world[0].body, article("w2", "world", true));
  EXPECT_THAT(ids_of(recent("*").second), ElementsAre("s2", "w2", "s1", "w1"));
  EXPECT_TRUE(recent("culture").second.empty());
  EXPECT_THAT(error_of(fcall("newspush_recent", {"Bad Category"}, true)),
              StartsWith("ERR newspush: bad_category:"));
}

TEST_F(HistoryFunctions, RecentShowsOnlyTheLatestLiveVersion) {
  init();
  publish(article("v1", "world", false, "First"));
  publish(article("v2", "world"));
  publish(article("v3", "world"));
  publish_ok(article("v1", "world", false, "Second"), "update");
  retract("v2");
  publish(article("v4", "world"));
  publish_ok(article("v3", "sport", false, "Moved"), "update");

  auto [head_cursor, world] = recent("world");
  EXPECT_THAT(ids_of(world), ElementsAre("v4", "v1"));
  EXPECT_EQ(json::parse(world[1].body).at("title"), "Second");
  EXPECT_EQ(world[1].kind, "update");

  auto sport = recent("sport").second;
  EXPECT_THAT(ids_of(sport), ElementsAre("v3"));
  EXPECT_EQ(json::parse(sport[0].body).at("title"), "Moved");

  EXPECT_THAT(ids_of(recent("*").second), ElementsAre("v3", "v4", "v1"));
}

TEST_F(HistoryFunctions, RecentHonoursLimitAndScanCap) {
  init();
  for (int i = 0; i < 30; ++i) publish(article("l" + std::to_string(i), i % 2 ? "odd" : "even"));
  EXPECT_EQ(recent("*").second.size(), 20u) << "default limit";
  EXPECT_THAT(ids_of(recent("*", "3").second), ElementsAre("l29", "l28", "l27"));
  EXPECT_THAT(ids_of(recent("even", "2").second), ElementsAre("l28", "l26"));
  // Only the newest 5 entries are looked at: 3 of them are odd.
  EXPECT_THAT(ids_of(recent("odd", "10", "5").second), ElementsAre("l29", "l27", "l25"));
  EXPECT_EQ(recent("*", "1000").second.size(), 30u);
}

TEST_F(HistoryFunctions, RecentBeforeInitIsEmpty) {
  auto [head_cursor, entries] = recent("*");
  EXPECT_EQ(head_cursor, "");
  EXPECT_TRUE(entries.empty());
}

// --- restarts ---------------------------------------------------------------------------------

TEST_F(HistoryFunctionsAof, HistorySurvivesARestartWithAppendOnly) {
  std::string start = init();
  std::vector<std::string> cursors;
  for (int i = 0; i < 3; ++i) cursors.push_back(publish(article("p" + std::to_string(i), "world")));
  redis_.restart();

  // The library itself was persisted too: no FUNCTION LOAD before these calls.
  EXPECT_EQ(head(), cursors.back());
  ReadResult r = read(cursors[0]);
  EXPECT_EQ(r.status, "ok");
  EXPECT_THAT(cursors_of(r.entries), ElementsAre(cursors[1], cursors[2]));
  EXPECT_EQ(fcall("newspush_publish", {article("p0", "world")}).elements.at(1).text, "duplicate");
  std::string next = publish(article("p3", "world"));
  EXPECT_EQ(epoch_of(next), epoch_of(start));
  EXPECT_THAT(cursors_of(read(cursors[2]).entries), ElementsAre(next));
}

TEST_F(HistoryFunctions, ARestartThatLosesDataChangesTheEpoch) {
  init();
  std::string old_cursor = publish(article("q1", "world"));
  redis_.restart();

  EXPECT_THAT(error_of(fcall("newspush_head", {}, true)), HasSubstr("not found"));
  load();
  std::string fresh = init();
  EXPECT_NE(epoch_of(fresh), epoch_of(old_cursor));
  EXPECT_EQ(stream_id_of(fresh), "0-0");
  ReadResult r = read(old_cursor);
  EXPECT_EQ(r.status, "reset:unknown_cursor");
  EXPECT_EQ(r.head, fresh);
  // The retried publish is a new article in the new history.
  std::string again = publish(article("q1", "world"));
  EXPECT_EQ(epoch_of(again), epoch_of(fresh));
}

}  // namespace
}  // namespace newspush::test

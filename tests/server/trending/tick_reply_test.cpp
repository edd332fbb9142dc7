#include "server/trending/tick_reply.hpp"

#include <gtest/gtest.h>

namespace newspush::trending {
namespace {

using redis::Reply;

Reply text(std::string t) {
  Reply r;
  r.type = Reply::Type::string;
  r.text = std::move(t);
  return r;
}

Reply integer(long long n) {
  Reply r;
  r.type = Reply::Type::integer;
  r.integer = n;
  return r;
}

Reply array(std::vector<Reply> elements) {
  Reply r;
  r.type = Reply::Type::array;
  r.elements = std::move(elements);
  return r;
}

TEST(TickReply, AFollowerLearnsWhoLeads) {
  std::string error;
  auto tick = parse_tick_reply(array({text("follower"), text("node-a")}), error);
  ASSERT_TRUE(tick) << error;
  EXPECT_FALSE(tick->leader);
  EXPECT_EQ(tick->holder, "node-a");
}

TEST(TickReply, TheLeaderGetsBaseAndRankings) {
  std::string error;
  auto tick = parse_tick_reply(
      array({text("leader"), text("1795000000000"), text("7200000"), integer(2),
             text("sports"), text("sig"), integer(1),
             text("spo-1"), text("Le derby"), text("https://x/1"), text("sports"), text("2.5"),
             text("*"), text(""), text("0")}),
      error);
  ASSERT_TRUE(tick) << error;
  EXPECT_TRUE(tick->leader);
  EXPECT_EQ(tick->base, (DecayBase{1795000000000, 7200000}));
  ASSERT_EQ(tick->rankings.size(), 2u);
  EXPECT_EQ(tick->rankings[0].category, "sports");
  EXPECT_EQ(tick->rankings[0].stored_signature, "sig");
  ASSERT_EQ(tick->rankings[0].entries.size(), 1u);
  EXPECT_EQ(tick->rankings[0].entries[0].item.title, "Le derby");
  EXPECT_DOUBLE_EQ(tick->rankings[0].entries[0].stored, 2.5);
  EXPECT_EQ(tick->rankings[1].category, "*");
  EXPECT_TRUE(tick->rankings[1].entries.empty());
}

TEST(TickReply, ALeaderOnAFreshRedisHasNoBaseYet) {
  std::string error;
  auto tick = parse_tick_reply(
      array({text("leader"), text(""), text(""), integer(1), text("*"), text(""), integer(0)}),
      error);
  ASSERT_TRUE(tick) << error;
  EXPECT_TRUE(tick->leader);
  EXPECT_FALSE(tick->has_base);
}

TEST(TickReply, MalformedRepliesAreErrors) {
  std::string error;
  EXPECT_FALSE(parse_tick_reply(Reply::error("ERR boom"), error));
  EXPECT_EQ(error, "ERR boom");
  EXPECT_FALSE(parse_tick_reply(text("leader"), error));
  EXPECT_FALSE(parse_tick_reply(array({text("boss")}), error));
  EXPECT_FALSE(parse_tick_reply(array({text("leader"), text("1"), text("0"), text("0")}), error));
  // Says two categories, carries one; an item with a non-numeric score.
  EXPECT_FALSE(parse_tick_reply(
      array({text("leader"), text("1"), text("1000"), text("2"), text("a"), text(""), text("0")}),
      error));
  EXPECT_FALSE(parse_tick_reply(
      array({text("leader"), text("1"), text("1000"), text("1"), text("a"), text(""), text("1"),
             text("id"), text("t"), text(""), text("a"), text("nan")}),
      error));
}

}  // namespace
}  // namespace newspush::trending

// Autobahn|Testsuite section 5: fragmentation (RFC 6455 5.4), control frames between fragments,
// continuation frames with nothing to continue.
#include "tests/websocket/codec_driver.hpp"

namespace newspush::websocket::test {
namespace {

TEST(Autobahn_5_1, FragmentedPingFails) {
  expect_events(
      concat({frame({.opcode = 0x9, .final = false}, "fragment1"), continuation("fragment2")}),
      {Failed(1002)});
}
TEST(Autobahn_5_2, FragmentedPongFails) {
  expect_events(
      concat({frame({.opcode = 0xA, .final = false}, "fragment1"), continuation("fragment2")}),
      {Failed(1002)});
}
TEST(Autobahn_5_3, TextInTwoFragments) {
  expect_events(concat({text("fragment1", false), continuation("fragment2")}),
                {Text("fragment1fragment2")});
}
TEST(Autobahn_5_4, TextInTwoFragmentsSentByteByByte) {
  EXPECT_EQ(run(concat({text("fragment1", false), continuation("fragment2")}), 1),
            std::vector<Recorded>{Text("fragment1fragment2")});
}
TEST(Autobahn_5_5, TextInTwoFragmentsSentInPiecesAcrossTheFrameEdge) {
  const std::string bytes = concat({text("fragment1", false), continuation("fragment2")});
  for (std::size_t piece = 1; piece <= bytes.size(); ++piece)
    EXPECT_EQ(run(bytes, piece), std::vector<Recorded>{Text("fragment1fragment2")}) << piece;
}
TEST(Autobahn_5_6, TextInTwoFragmentsWithAPingBetween) {
  expect_events(concat({text("fragment1", false), ping("pongme!"), continuation("fragment2")}),
                {Ping("pongme!"), Text("fragment1fragment2")});
}
TEST(Autobahn_5_7, TextInTwoFragmentsWithAPingBetweenByteByByte) {
  EXPECT_EQ(run(concat({text("fragment1", false), ping("pongme!"), continuation("fragment2")}), 1),
            (std::vector<Recorded>{Ping("pongme!"), Text("fragment1fragment2")}));
}
TEST(Autobahn_5_8, TextInTwoFragmentsWithAPingBetweenFrameByFrame) {
  ServerCodec codec{default_max_message};
  EXPECT_EQ(feed(codec, text("fragment1", false), 0), std::vector<Recorded>{});
  EXPECT_TRUE(codec.in_message());
  EXPECT_EQ(feed(codec, ping("pongme!"), 0), std::vector<Recorded>{Ping("pongme!")});
  EXPECT_EQ(feed(codec, continuation("fragment2"), 0),
            std::vector<Recorded>{Text("fragment1fragment2")});
  EXPECT_FALSE(codec.in_message());
}
TEST(Autobahn_5_9, FinalContinuationWithNothingToContinueFails) {
  expect_events(concat({continuation("non-continuation payload"), text("Hello, world!")}),
                {Failed(1002)});
}
TEST(Autobahn_5_10, FinalContinuationWithNothingToContinueByteByByte) {
  EXPECT_EQ(run(concat({continuation("non-continuation payload"), text("Hello, world!")}), 1),
            std::vector<Recorded>{Failed(1002)});
}
TEST(Autobahn_5_12, NonFinalContinuationWithNothingToContinueFails) {
  expect_events(concat({continuation("non-continuation payload", false), text("Hello, world!")}),
                {Failed(1002)});
}
TEST(Autobahn_5_15, ContinuationAfterACompleteFragmentedMessageFails) {
  expect_events(concat({text("fragment1", false), continuation("fragment2"),
                        continuation("fragment3", false), text("fragment4")}),
                {Text("fragment1fragment2"), Failed(1002)});
}
TEST(Autobahn_5_16, ContinuationFirstRepeatedFails) {
  std::string once = concat(
      {continuation("fragment1", false), text("fragment2", false), continuation("fragment3")});
  expect_events(once + once, {Failed(1002)});
}
TEST(Autobahn_5_17, FinalContinuationFirstRepeatedFails) {
  std::string once =
      concat({continuation("fragment1"), text("fragment2", false), continuation("fragment3")});
  expect_events(once + once, {Failed(1002)});
}
TEST(Autobahn_5_18, NewTextMessageInsideAFragmentedOneFails) {
  expect_events(concat({text("fragment1", false), text("fragment2")}), {Failed(1002)});
  expect_events(concat({binary("fragment1", false), text("fragment2")}), {Failed(1002)});
  expect_events(concat({text("fragment1", false), binary("fragment2", false)}), {Failed(1002)});
}
TEST(Autobahn_5_19, FiveFragmentsWithPingsBetween) {
  expect_events(
      concat({text("fragment1", false), continuation("fragment2", false), ping("pongme 1!"),
              continuation("fragment3", false), continuation("fragment4", false), ping("pongme 2!"),
              continuation("fragment5")}),
      {Ping("pongme 1!"), Ping("pongme 2!"),
       Text("fragment1fragment2fragment3fragment4fragment5")});
}
TEST(Autobahn_5_20, FiveFragmentsWithPingsBetweenByteByByte) {
  EXPECT_EQ(
      run(concat({text("fragment1", false), continuation("fragment2", false), ping("pongme 1!"),
                  continuation("fragment3", false), continuation("fragment4", false),
                  ping("pongme 2!"), continuation("fragment5")}),
          1),
      (std::vector<Recorded>{Ping("pongme 1!"), Ping("pongme 2!"),
                             Text("fragment1fragment2fragment3fragment4fragment5")}));
}

TEST(Autobahn_5_Extra, BinaryFragmentsWithEmptyOnesAndAPongBetween) {
  expect_events(concat({binary("", false), continuation("\x01\x02", false), pong("p"),
                        continuation("", false), continuation("\x03")}),
                {Pong("p"), Binary("\x01\x02\x03")});
}
TEST(Autobahn_5_Extra, MessagesAfterAFragmentedOneStartFresh) {
  expect_events(concat({text("a", false), continuation("b"), binary("c"), text("d", false),
                        continuation("e")}),
                {Text("ab"), Binary("c"), Text("de")});
}
TEST(Autobahn_5_Extra, CloseBetweenFragmentsEndsTheConnection) {
  expect_events(concat({text("fragment1", false), close(1000), continuation("fragment2")}),
                {CloseReceived(1000, 1000)});
}

}  // namespace
}  // namespace newspush::websocket::test

// Autobahn|Testsuite section 7: the close handshake (RFC 6455 5.5.1, 7.1.5-7.1.6, 7.4), from
// either side, and what may follow a close frame (nothing).
#include "tests/websocket/codec_driver.hpp"

namespace newspush::websocket::test {
namespace {

TEST(Autobahn_7_1_1, EchoThenCloseWithNormalCode) {
  expect_events(concat({text("Hello World!"), close(1000)}),
                {Text("Hello World!"), CloseReceived(1000, 1000)});
}
TEST(Autobahn_7_1_2, SecondCloseIsNotParsed) {
  expect_events(concat({close(1000), close(1000)}), {CloseReceived(1000, 1000)});
}
TEST(Autobahn_7_1_3, PingAfterCloseIsNotParsed) {
  expect_events(concat({close(1000), ping("Hello World!")}), {CloseReceived(1000, 1000)});
}
TEST(Autobahn_7_1_4, TextAfterCloseIsNotParsed) {
  expect_events(concat({close(1000), text("Hello World!")}), {CloseReceived(1000, 1000)});
}
TEST(Autobahn_7_1_5, FragmentThenCloseThenRestOfMessage) {
  expect_events(concat({text("fragment1", false), close(1000), continuation("fragment2")}),
                {CloseReceived(1000, 1000)});
}
TEST(Autobahn_7_1_6, BigMessageThenCloseThenPing) {
  const std::string big(256 * 1024, 'B');
  expect_events(concat({text(big), close(1000), ping("Hello World!")}),
                {Text(big), CloseReceived(1000, 1000)});
}
TEST(Autobahn_7_1_Garbage, InvalidBytesAfterCloseAreNeverLookedAt) {
  expect_events(concat({close(1001), std::string("\xff\xff\xff\xff", 4)}),
                {CloseReceived(1001, 1001)});
}

TEST(Autobahn_7_3_1, CloseWithoutPayloadIsAnsweredWith1000) {
  expect_events(close_empty(), {CloseReceived(1000, 1005)});
}
TEST(Autobahn_7_3_2, CloseWithOneBytePayloadFails) {
  expect_events(frame({.opcode = 0x8}, "a"), {Failed(1002)});
}
TEST(Autobahn_7_3_3, CloseWithCodeOnly) { expect_events(close(1000), {CloseReceived(1000, 1000)}); }
TEST(Autobahn_7_3_4, CloseWithCodeAndReason) {
  expect_events(close(1000, "Hello World!"), {CloseReceived(1000, 1000, "Hello World!")});
}
TEST(Autobahn_7_3_5, CloseWith123ByteReason) {
  const std::string reason(123, '*');
  expect_events(close(1000, reason), {CloseReceived(1000, 1000, reason)});
}
TEST(Autobahn_7_3_6, CloseWith124ByteReasonIsTooLongForAControlFrame) {
  expect_events(close(1000, std::string(124, '*')), {Failed(1002)});
}
TEST(Autobahn_7_5_1, CloseReasonMustBeUtf8) {
  expect_events(close(1000,
                      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                      "edited"),
                {Failed(1007)});
  expect_events(close(1000, "\xc3"), {Failed(1007)});
}
TEST(Autobahn_7_5_Valid, Utf8ReasonIsPassedOn) {
  expect_events(close(4000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
                {CloseReceived(4000, 4000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")});
}

// 7.7: valid codes are echoed.
class Autobahn_7_7 : public ::testing::TestWithParam<std::uint16_t> {};
TEST_P(Autobahn_7_7, ValidCodeIsEchoed) {
  expect_events(close(GetParam()), {CloseReceived(GetParam(), GetParam())});
  expect_events(close(GetParam(), "reason"), {CloseReceived(GetParam(), GetParam(), "reason")});
}
INSTANTIATE_TEST_SUITE_P(Codes, Autobahn_7_7,
                         ::testing::Values(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                           1012, 1013, 1014, 3000, 3999, 4000, 4999));

// 7.9 and 7.13: codes that may not appear on the wire fail the connection.
class Autobahn_7_9 : public ::testing::TestWithParam<std::uint16_t> {};
TEST_P(Autobahn_7_9, InvalidCodeFails) { expect_events(close(GetParam()), {Failed(1002)}); }
INSTANTIATE_TEST_SUITE_P(Codes, Autobahn_7_9,
                         ::testing::Values(0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                                           5000, 65535));

TEST(Autobahn_7_Codes, EveryCodeFromZeroTo65535IsJudgedAsTheTableSays) {
  for (std::uint32_t code = 0; code <= 0xFFFF; ++code) {
    const bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                       (code >= 3000 && code <= 4999);
    const auto c = static_cast<std::uint16_t>(code);
    EXPECT_EQ(run(close(c), 0), std::vector<Recorded>{valid ? CloseReceived(c, c) : Failed(1002)})
        << code;
  }
}

// The close handshake's states, as the server sees them.
TEST(Autobahn_7_Handshake, PeerInitiatedCloseThenServerReplyEndsInClosed) {
  ServerCodec codec{default_max_message};
  EXPECT_EQ(feed(codec, close(1001, "bye"), 1),
            std::vector<Recorded>{CloseReceived(1001, 1001, "bye")});
  EXPECT_EQ(codec.close_state(), CloseState::close_received);
  codec.close_sent();
  EXPECT_EQ(codec.close_state(), CloseState::closed);
}
TEST(Autobahn_7_Handshake, ServerInitiatedCloseWaitsForThePeersClose) {
  for (std::size_t piece : {0, 1, 3}) {
    ServerCodec codec{default_max_message};
    EXPECT_EQ(feed(codec, text("before"), piece), std::vector<Recorded>{Text("before")});
    codec.close_sent();
    EXPECT_EQ(codec.close_state(), CloseState::close_sent);
    // Messages and pings that crossed the close on the wire are checked, then dropped; pongs are
    // still reported (proof of life while waiting).
    EXPECT_EQ(
        feed(codec,
             concat({text("late"), ping("p"), text("a", false), pong("q"), continuation("b")}),
             piece),
        std::vector<Recorded>{Pong("q")});
    EXPECT_EQ(codec.close_state(), CloseState::close_sent);
    EXPECT_EQ(feed(codec, close(1000, "ok"), piece),
              std::vector<Recorded>{CloseCompleted(1000, "ok")});
    EXPECT_EQ(codec.close_state(), CloseState::closed);
    EXPECT_EQ(feed(codec, text("after"), piece), std::vector<Recorded>{});
  }
}
TEST(Autobahn_7_Handshake, ServerInitiatedCloseAnsweredWithoutCode) {
  ServerCodec codec{default_max_message};
  codec.close_sent();
  EXPECT_EQ(feed(codec, close_empty(), 1), std::vector<Recorded>{CloseCompleted(1005)});
}
TEST(Autobahn_7_Handshake, ProtocolErrorsStillFailWhileWaitingForThePeersClose) {
  ServerCodec codec{default_max_message};
  codec.close_sent();
  EXPECT_EQ(feed(codec, text("\xff"), 1), std::vector<Recorded>{Failed(1007)});
  EXPECT_EQ(codec.close_state(), CloseState::failed);
  codec.close_sent();  // a close frame sent after the failure changes nothing
  EXPECT_EQ(codec.close_state(), CloseState::failed);
}
TEST(Autobahn_7_Handshake, CloseWithInvalidCodeAfterServerCloseFails) {
  ServerCodec codec{default_max_message};
  codec.close_sent();
  EXPECT_EQ(feed(codec, close(1005), 0), std::vector<Recorded>{Failed(1002)});
}

}  // namespace
}  // namespace newspush::websocket::test

// RFC 6455 case by case, in the order of Autobahn|Testsuite's sections 1 (framing), 2 (pings and
// pongs), 3 (reserved bits) and 4 (opcodes). Each case is fed at once, byte by byte and in odd
// pieces (expect_events).
#include "tests/websocket/codec_driver.hpp"

namespace newspush::websocket::test {
namespace {

std::string filler(std::size_t size, char c = '*') { return std::string(size, c); }

// Section 1.1: text messages of the sizes around each length encoding's edges.
class Autobahn_1_1 : public ::testing::TestWithParam<std::size_t> {};
TEST_P(Autobahn_1_1, TextMessageOfSizeIsDelivered) {
  const std::string payload = filler(GetParam());
  expect_events(text(payload), {Text(payload)});
}
INSTANTIATE_TEST_SUITE_P(Sizes, Autobahn_1_1,
                         ::testing::Values(0, 125, 126, 127, 128, 65535, 65536));

TEST(Autobahn_1_1_8, Text65536SentIn997BytePieces) {
  const std::string payload = filler(65536);
  EXPECT_EQ(run(text(payload), 997), std::vector<Recorded>{Text(payload)});
}

// Section 1.2: the same for binary, with every byte value.
class Autobahn_1_2 : public ::testing::TestWithParam<std::size_t> {};
TEST_P(Autobahn_1_2, BinaryMessageOfSizeIsDelivered) {
  std::string payload(GetParam(), '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  expect_events(binary(payload), {Binary(payload)});
}
INSTANTIATE_TEST_SUITE_P(Sizes, Autobahn_1_2,
                         ::testing::Values(0, 125, 126, 127, 128, 65535, 65536));

TEST(Autobahn_1_2_8, Binary65536SentIn997BytePieces) {
  const std::string payload = filler(65536, '\xfe');
  EXPECT_EQ(run(binary(payload), 997), std::vector<Recorded>{Binary(payload)});
}

TEST(Autobahn_1_Masking, EveryMaskKeyPhaseUnmasksTheSame) {
  // The 8-byte unmasking path and the byte path must agree whatever the offset a piece starts at.
  std::string payload;
  for (int i = 0; i < 300; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  for (std::uint32_t key : {0x00000000u, 0xffffffffu, 0x01020304u, 0x80ff7f00u})
    expect_events(frame({.opcode = 0x1, .mask_key = key}, payload), {Text(payload)});
}

TEST(Autobahn_1_Masking, UnmaskedClientFrameFailsWith1002) {
  expect_events(frame({.opcode = 0x1, .masked = false}, "Hello"), {Failed(1002)});
  expect_events(frame({.opcode = 0x9, .masked = false}, ""), {Failed(1002)});
}

TEST(Autobahn_1_Length, NonMinimal16BitLengthFailsWith1002) {
  // 5.2: "the minimal number of bytes MUST be used to encode the length".
  expect_events(frame({.opcode = 0x1, .length_form = 126}, "short"), {Failed(1002)});
  expect_events(frame({.opcode = 0x1, .length_form = 126}, filler(125)), {Failed(1002)});
  expect_events(frame({.opcode = 0x1, .length_form = 126}, filler(126)), {Text(filler(126))});
}

TEST(Autobahn_1_Length, NonMinimal64BitLengthFailsWith1002) {
  expect_events(frame({.opcode = 0x2, .length_form = 127}, "short"), {Failed(1002)});
  expect_events(frame({.opcode = 0x2, .length_form = 127}, filler(65535)), {Failed(1002)});
  expect_events(frame({.opcode = 0x2, .length_form = 127}, filler(65536)), {Binary(filler(65536))});
}

TEST(Autobahn_1_Length, SixtyFourBitLengthWithTopBitSetFailsWith1002AtThatByte) {
  const std::string header{"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01", 10};
  // Fails at the first length byte: nothing after it is needed.
  expect_events(header.substr(0, 3), {Failed(1002)});
  expect_events(header + "mask", {Failed(1002)});
}

TEST(Autobahn_1_Length, FrameAnnouncingMoreThanItCarriesWaitsForTheRest) {
  const std::string bytes = frame({.opcode = 0x1, .announced = 10}, "12345");
  EXPECT_EQ(run(bytes, 0), std::vector<Recorded>{});
  EXPECT_EQ(run(bytes, 1), std::vector<Recorded>{});
}

TEST(Autobahn_1_Length, SeveralFramesInOneReadGiveEveryEventInOrder) {
  expect_events(concat({text("one"), binary("two"), ping("3"), text("")}),
                {Text("one"), Binary("two"), Ping("3"), Text("")});
}

// Section 2: pings and pongs.
TEST(Autobahn_2_1, PingWithoutPayloadAsksForAnEmptyPong) { expect_events(ping(), {Ping("")}); }
TEST(Autobahn_2_2, PingWithTextPayload) {
  expect_events(ping("Hello, world!"), {Ping("Hello, world!")});
}
TEST(Autobahn_2_3, PingWithBinaryPayload) {
  const std::string payload{"\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8};
  expect_events(ping(payload), {Ping(payload)});
}
TEST(Autobahn_2_4, PingWith125BytePayload) {
  expect_events(ping(filler(125, '\xfe')), {Ping(filler(125, '\xfe'))});
}
TEST(Autobahn_2_5, PingWith126BytePayloadFailsWith1002) {
  // The 7-bit length 126 already says it: fail at the second byte, before the extended length.
  expect_events(frame({.opcode = 0x9}, filler(126)), {Failed(1002)});
  expect_events(std::string{"\x89\xfe", 2}, {Failed(1002)});
}
TEST(Autobahn_2_6, PingWith125BytePayloadSentByteByByte) {
  EXPECT_EQ(run(ping(filler(125)), 1), std::vector<Recorded>{Ping(filler(125))});
}
TEST(Autobahn_2_7, UnsolicitedPongWithoutPayloadIsIgnored) { expect_events(pong(), {Pong("")}); }
TEST(Autobahn_2_8, UnsolicitedPongWithPayloadIsIgnored) {
  expect_events(pong("unsolicited pong payload"), {Pong("unsolicited pong payload")});
}
TEST(Autobahn_2_9, UnsolicitedPongThenPing) {
  expect_events(concat({pong("unsolicited pong payload"), ping("ping payload")}),
                {Pong("unsolicited pong payload"), Ping("ping payload")});
}
TEST(Autobahn_2_10, TenPingsInARowEachAnswered) {
  std::string bytes;
  std::vector<Recorded> expected;
  for (int i = 0; i < 10; ++i) {
    bytes += ping("payload-" + std::to_string(i));
    expected.push_back(Ping("payload-" + std::to_string(i)));
  }
  expect_events(bytes, expected);
}
TEST(Autobahn_2_11, TenPingsSentByteByByte) {
  std::string bytes;
  std::vector<Recorded> expected;
  for (int i = 0; i < 10; ++i) {
    bytes += ping("payload-" + std::to_string(i));
    expected.push_back(Ping("payload-" + std::to_string(i)));
  }
  EXPECT_EQ(run(bytes, 1), expected);
}

// Section 3: no extension is negotiated, so any RSV bit fails the connection (5.2), at the
// frame's first byte; what came before is still delivered.
TEST(Autobahn_3_1, Rsv1OnTextFails) {
  expect_events(frame({.opcode = 0x1, .rsv = 4}, "Hello, world!"), {Failed(1002)});
}
TEST(Autobahn_3_2, Rsv2OnTextAfterAGoodOneFails) {
  expect_events(concat({text("Hello, world!"), frame({.opcode = 0x1, .rsv = 2}, "Hello, world!"),
                        ping("Hello, world!")}),
                {Text("Hello, world!"), Failed(1002)});
}
TEST(Autobahn_3_3, Rsv1And2OnTextAfterAGoodOneFails) {
  expect_events(concat({text("Hello, world!"), frame({.opcode = 0x1, .rsv = 6}, "Hello, world!"),
                        ping("Hello, world!")}),
                {Text("Hello, world!"), Failed(1002)});
}
TEST(Autobahn_3_4, Rsv3OnTextSentByteByByteFails) {
  EXPECT_EQ(run(concat({text("Hello, world!"), frame({.opcode = 0x1, .rsv = 1}, "Hello"),
                        ping("Hello, world!")}),
                1),
            (std::vector<Recorded>{Text("Hello, world!"), Failed(1002)}));
}
TEST(Autobahn_3_5, Rsv1And3OnBinaryFails) {
  expect_events(frame({.opcode = 0x2, .rsv = 5}, "\x00\xff\xfe"), {Failed(1002)});
}
TEST(Autobahn_3_6, Rsv2And3OnPingFails) {
  expect_events(frame({.opcode = 0x9, .rsv = 3}, "\x00\xff\xfe"), {Failed(1002)});
}
TEST(Autobahn_3_7, AllRsvBitsOnCloseFails) {
  expect_events(frame({.opcode = 0x8, .rsv = 7}, ""), {Failed(1002)});
}

// Section 4: reserved opcodes.
class Autobahn_4_1 : public ::testing::TestWithParam<std::uint8_t> {};
TEST_P(Autobahn_4_1, ReservedNonControlOpcodeFails) {
  expect_events(frame({.opcode = GetParam()}, ""), {Failed(1002)});
  expect_events(frame({.opcode = GetParam()}, "reserved opcode payload"), {Failed(1002)});
  // After a good message, and before a ping that is then never parsed.
  expect_events(concat({text("Hello, world!"), frame({.opcode = GetParam()}, "x"), ping("p")}),
                {Text("Hello, world!"), Failed(1002)});
}
INSTANTIATE_TEST_SUITE_P(Opcodes3To7, Autobahn_4_1, ::testing::Values(3, 4, 5, 6, 7));

class Autobahn_4_2 : public ::testing::TestWithParam<std::uint8_t> {};
TEST_P(Autobahn_4_2, ReservedControlOpcodeFails) {
  expect_events(frame({.opcode = GetParam()}, ""), {Failed(1002)});
  expect_events(concat({text("Hello, world!"), frame({.opcode = GetParam()}, "x"), ping("p")}),
                {Text("Hello, world!"), Failed(1002)});
}
INSTANTIATE_TEST_SUITE_P(Opcodes11To15, Autobahn_4_2, ::testing::Values(0xB, 0xC, 0xD, 0xE, 0xF));

TEST(Autobahn_4_Failure, NothingIsParsedAfterAFailure) {
  ServerCodec codec{default_max_message};
  std::string_view input = "\x83";  // reserved opcode
  EXPECT_EQ(codec.read(input).kind, EventKind::failed);
  EXPECT_EQ(codec.close_state(), CloseState::failed);
  const std::string more = text("ignored");
  std::string_view rest = more;
  EXPECT_EQ(codec.read(rest).kind, EventKind::need_more);
  EXPECT_TRUE(rest.empty());
}

}  // namespace
}  // namespace newspush::websocket::test

// Autobahn|Testsuite section 9 (limits and performance-sized messages): big messages whole,
// fragmented, and in small pieces; many small messages; and the size limit (1009), which counts
// a message over all its fragments and fails as soon as a header announces too much.
#include "tests/websocket/codec_driver.hpp"

namespace newspush::websocket::test {
namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 31 + i / 7) % 26);
  return s;
}

std::string fragmented(std::uint8_t opcode, const std::string& payload, std::size_t fragment) {
  std::string out;
  for (std::size_t at = 0; at < payload.size() || at == 0; at += fragment) {
    const bool last = at + fragment >= payload.size();
    out += frame({.opcode = static_cast<std::uint8_t>(at == 0 ? opcode : 0), .final = last},
                 std::string_view{payload}.substr(at, fragment));
    if (payload.empty()) break;
  }
  return out;
}

// Feeding a message one byte at a time costs a codec call per byte: up to 1 MiB that is cheap,
// past it (16 million calls under AddressSanitizer) it only slows the suite, as bigger messages
// take the same paths; they get 3-byte pieces instead, still cut inside every header.
std::size_t byte_by_byte_up_to_1_mib(const std::string& payload) {
  return payload.size() <= 1 * MiB ? 1 : 3;
}

// 9.1 and 9.2: one big message in one frame, whole and in pieces down to one byte.
class Autobahn_9_1 : public ::testing::TestWithParam<std::size_t> {};
TEST_P(Autobahn_9_1, BigTextMessage) {
  const std::string payload = pattern(GetParam());
  const std::string bytes = text(payload);
  for (std::size_t piece :
       {std::size_t{0}, byte_by_byte_up_to_1_mib(payload), std::size_t{4093}, 64 * KiB})
    EXPECT_EQ(run(bytes, piece), std::vector<Recorded>{Text(payload)}) << piece;
}
INSTANTIATE_TEST_SUITE_P(Sizes, Autobahn_9_1,
                         ::testing::Values(64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB));

class Autobahn_9_2 : public ::testing::TestWithParam<std::size_t> {};
TEST_P(Autobahn_9_2, BigBinaryMessage) {
  const std::string payload(GetParam(), '\xfe');
  const std::string bytes = binary(payload);
  for (std::size_t piece :
       {std::size_t{0}, byte_by_byte_up_to_1_mib(payload), std::size_t{4093}, 64 * KiB})
    EXPECT_EQ(run(bytes, piece), std::vector<Recorded>{Binary(payload)}) << piece;
}
INSTANTIATE_TEST_SUITE_P(Sizes, Autobahn_9_2,
                         ::testing::Values(64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB));

// 9.3 and 9.4: a 4 MiB message in fragments of 64 B to 4 MiB.
class Autobahn_9_3 : public ::testing::TestWithParam<std::size_t> {};
TEST_P(Autobahn_9_3, FragmentedTextMessage) {
  const std::string payload = pattern(4 * MiB);
  const std::string bytes = fragmented(0x1, payload, GetParam());
  for (std::size_t piece : {std::size_t{0}, std::size_t{3}, std::size_t{65521}})
    EXPECT_EQ(run(bytes, piece), std::vector<Recorded>{Text(payload)}) << piece;
}
INSTANTIATE_TEST_SUITE_P(FragmentSizes, Autobahn_9_3,
                         ::testing::Values(64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB,
                                           1 * MiB, 4 * MiB));

class Autobahn_9_4 : public ::testing::TestWithParam<std::size_t> {};
TEST_P(Autobahn_9_4, FragmentedBinaryMessage) {
  const std::string payload(4 * MiB, '\x00');
  const std::string bytes = fragmented(0x2, payload, GetParam());
  for (std::size_t piece : {std::size_t{0}, std::size_t{3}, std::size_t{65521}})
    EXPECT_EQ(run(bytes, piece), std::vector<Recorded>{Binary(payload)}) << piece;
}
INSTANTIATE_TEST_SUITE_P(FragmentSizes, Autobahn_9_4,
                         ::testing::Values(64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB,
                                           1 * MiB, 4 * MiB));

// 9.5 and 9.6: a 1 MiB message arriving in pieces of 64 B to 128 KiB.
class Autobahn_9_5 : public ::testing::TestWithParam<std::size_t> {};
TEST_P(Autobahn_9_5, TextMessageInPieces) {
  const std::string payload = pattern(1 * MiB);
  EXPECT_EQ(run(text(payload), GetParam()), std::vector<Recorded>{Text(payload)});
  EXPECT_EQ(run(binary(payload), GetParam()), std::vector<Recorded>{Binary(payload)});
}
INSTANTIATE_TEST_SUITE_P(PieceSizes, Autobahn_9_5,
                         ::testing::Values(64, 128, 256, 512, 1 * KiB, 2 * KiB, 4 * KiB, 8 * KiB,
                                           16 * KiB, 32 * KiB, 64 * KiB, 128 * KiB));

// 9.7 and 9.8: a thousand small messages in a row.
class Autobahn_9_7 : public ::testing::TestWithParam<std::size_t> {};
TEST_P(Autobahn_9_7, ThousandSmallMessages) {
  std::string bytes;
  std::vector<Recorded> expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string payload = pattern(GetParam());
    bytes += i % 2 ? text(payload) : binary(payload);
    expected.push_back(i % 2 ? Text(payload) : Binary(payload));
  }
  expect_events(bytes, expected);
}
INSTANTIATE_TEST_SUITE_P(Sizes, Autobahn_9_7, ::testing::Values(0, 16, 64, 256, 1 * KiB, 4 * KiB));

// The limit (1009).
TEST(Autobahn_9_Limit, MessageOfExactlyTheLimitIsDelivered) {
  expect_events(text(pattern(1000)), {Text(pattern(1000))}, 1000);
  expect_events(fragmented(0x2, pattern(1000), 100), {Binary(pattern(1000))}, 1000);
}
TEST(Autobahn_9_Limit, SingleFrameOverTheLimitFailsAtItsHeader) {
  // Only the header is sent: the codec must not wait for a payload it will refuse.
  const std::string header = text(pattern(1001)).substr(0, 8);
  expect_events(header, {Failed(1009)}, 1000);
  expect_events(text(pattern(1001)), {Failed(1009)}, 1000);
}
TEST(Autobahn_9_Limit, FragmentsOverTheLimitTogetherFailAtTheHeaderThatCrossesIt) {
  const std::string bytes =
      concat({text(pattern(600), false), ping("p"), continuation(pattern(401))});
  expect_events(bytes, {Ping("p"), Failed(1009)}, 1000);
}
TEST(Autobahn_9_Limit, HugeAnnouncedLengthFailsWithoutAllocating) {
  // 2^62 bytes announced: refused from the header alone.
  const std::string header{
      "\x82\xff\x40\x00\x00\x00\x00\x00\x00\x00"
      "mask",
      14};
  expect_events(header, {Failed(1009)});
}
TEST(Autobahn_9_Limit, ControlFramesDoNotCountTowardsTheMessage) {
  std::string bytes = text(pattern(500), false);
  for (int i = 0; i < 20; ++i) bytes += ping(pattern(125));
  bytes += continuation(pattern(500));
  std::vector<Recorded> expected(20, Ping(pattern(125)));
  expected.push_back(Text(pattern(500) + pattern(500)));
  expect_events(bytes, expected, 1000);
}
TEST(Autobahn_9_Limit, TheLimitCountsEachMessageAfresh) {
  expect_events(concat({text(pattern(1000)), binary(pattern(1000)), text(pattern(1000))}),
                {Text(pattern(1000)), Binary(pattern(1000)), Text(pattern(1000))}, 1000);
}
TEST(Autobahn_9_Limit, ZeroLimitAcceptsOnlyEmptyMessages) {
  expect_events(concat({text(""), binary(""), text("x")}), {Text(""), Binary(""), Failed(1009)}, 0);
}

TEST(Autobahn_9_Memory, ReleaseBufferKeepsAMessageBeingAssembled) {
  ServerCodec codec{default_max_message};
  EXPECT_EQ(feed(codec, text(pattern(100 * KiB)), 0),
            std::vector<Recorded>{Text(pattern(100 * KiB))});
  codec.release_buffer();
  EXPECT_EQ(feed(codec, text("abc", false), 0), std::vector<Recorded>{});
  codec.release_buffer();  // mid-message: must keep "abc"
  const std::string frame_bytes = continuation("def");
  EXPECT_EQ(feed(codec, std::string_view{frame_bytes}.substr(0, 7), 0), std::vector<Recorded>{});
  codec.release_buffer();  // mid-frame
  EXPECT_EQ(feed(codec, std::string_view{frame_bytes}.substr(7), 0),
            std::vector<Recorded>{Text("abcdef")});
}

}  // namespace
}  // namespace newspush::websocket::test

// The server's frames: unmasked, minimal length encodings, control frames within 125 bytes, and
// every frame read back by a decoder written here from RFC 6455 5.2.
#include "websocket/frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "websocket/utf8.hpp"

namespace newspush::websocket {
namespace {

struct Decoded {
  bool final;
  std::uint8_t rsv;
  std::uint8_t opcode;
  bool masked;
  std::uint64_t length;
  std::size_t header;
  std::string payload;
};

Decoded decode(std::string_view bytes) {
  Decoded d{};
  const auto b0 = static_cast<unsigned char>(bytes.at(0));
  const auto b1 = static_cast<unsigned char>(bytes.at(1));
  d.final = b0 & 0x80;
  d.rsv = (b0 >> 4) & 7;
  d.opcode = b0 & 0xF;
  d.masked = b1 & 0x80;
  d.length = b1 & 0x7F;
  d.header = 2;
  if (d.length == 126) {
    d.length =
        static_cast<unsigned char>(bytes.at(2)) << 8 | static_cast<unsigned char>(bytes.at(3));
    d.header = 4;
  } else if (d.length == 127) {
    d.length = 0;
    for (int i = 0; i < 8; ++i)
      d.length = d.length << 8 | static_cast<unsigned char>(bytes.at(2 + i));
    d.header = 10;
  }
  d.payload = std::string(bytes.substr(d.header));
  return d;
}

TEST(FrameHeader, SizesAtEachEncodingsEdges) {
  EXPECT_EQ(header_size(0), 2u);
  EXPECT_EQ(header_size(125), 2u);
  EXPECT_EQ(header_size(126), 4u);
  EXPECT_EQ(header_size(65535), 4u);
  EXPECT_EQ(header_size(65536), 10u);
  EXPECT_EQ(header_size(UINT64_C(1) << 40), 10u);
  EXPECT_EQ(frame_size(126), 130u);
}

TEST(FrameHeader, WrittenHeaderIsUnmaskedMinimalAndFinal) {
  for (std::uint64_t size : {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull,
                             (1ull << 32) + 5, (1ull << 63) - 1}) {
    char buffer[max_header_size];
    const std::size_t n = write_header(buffer, Opcode::text, size);
    EXPECT_EQ(n, header_size(size));
    const Decoded d = decode({buffer, n});
    EXPECT_TRUE(d.final);
    EXPECT_EQ(d.rsv, 0);
    EXPECT_EQ(d.opcode, 1);
    EXPECT_FALSE(d.masked);
    EXPECT_EQ(d.length, size);
    EXPECT_EQ(d.header, n);
  }
}

TEST(FrameHeader, NonFinalFragmentAndContinuation) {
  char buffer[max_header_size];
  write_header(buffer, Opcode::binary, 3, false);
  EXPECT_EQ(static_cast<unsigned char>(buffer[0]), 0x02);
  write_header(buffer, Opcode::continuation, 3, true);
  EXPECT_EQ(static_cast<unsigned char>(buffer[0]), 0x80);
}

TEST(AppendFrame, HeaderAndPayloadInOneContiguousBuffer) {
  // The fan-out's use: one buffer per article, sent as is to every recipient.
  for (std::size_t size : {0, 5, 125, 126, 600, 65535, 65536, 70000}) {
    const std::string payload(size, 'x');
    std::string out = "prefix";
    append_frame(out, Opcode::text, payload);
    ASSERT_EQ(out.size(), 6 + frame_size(size));
    const Decoded d = decode(std::string_view{out}.substr(6));
    EXPECT_EQ(d.opcode, 1);
    EXPECT_EQ(d.length, size);
    EXPECT_EQ(d.payload, payload);
  }
}

TEST(ControlFrames, PingAndPongCarryTheirPayload) {
  const Decoded ping = decode(ping_frame("abc").bytes());
  EXPECT_EQ(ping.opcode, 0x9);
  EXPECT_EQ(ping.payload, "abc");
  const Decoded pong = decode(pong_frame(std::string(125, 'p')).bytes());
  EXPECT_EQ(pong.opcode, 0xA);
  EXPECT_EQ(pong.payload, std::string(125, 'p'));
  EXPECT_TRUE(pong.final);
  EXPECT_EQ(decode(pong_frame("").bytes()).length, 0u);
}

TEST(ControlFrames, OverlongPingPayloadIsCutAt125) {
  const Decoded ping = decode(ping_frame(std::string(300, 'x')).bytes());
  EXPECT_EQ(ping.length, 125u);
  EXPECT_EQ(ping.header, 2u);
}

TEST(ControlFrames, CloseCarriesCodeAndReason) {
  const Decoded close = decode(close_frame(1001, "going away").bytes());
  EXPECT_EQ(close.opcode, 0x8);
  EXPECT_EQ(close.payload, std::string("\x03\xe9going away"));
  EXPECT_EQ(decode(close_frame(4999).bytes()).payload, "\x13\x87");
}

TEST(ControlFrames, CloseReasonIsCutAtACharacterBoundaryWithin123Bytes) {
  // 122 ASCII bytes then "é" (2 bytes): 124 bytes; the cut must drop the whole "é".
  const std::string reason = std::string(122, 'a') + "\xc3\xa9";
  const Decoded close = decode(close_frame(1000, reason).bytes());
  EXPECT_EQ(close.length, 2u + 122u);
  EXPECT_TRUE(is_valid_utf8(std::string_view{close.payload}.substr(2)));
  // A 4-byte character straddling the edge at every offset.
  const std::string clef = "\xf0\x9d\x84\x9e";
  for (std::size_t lead = 118; lead <= 123; ++lead) {
    const Decoded d = decode(close_frame(1000, std::string(lead, 'b') + clef + "tail").bytes());
    EXPECT_LE(d.length, 125u);
    const std::string_view kept = std::string_view{d.payload}.substr(2);
    EXPECT_TRUE(is_valid_utf8(kept)) << lead;
    // The clef whole and the ASCII tail up to the limit, or the clef dropped whole.
    EXPECT_EQ(kept.size(), lead + 4 <= 123 ? 123 : lead) << lead;
  }
}

TEST(ControlFrames, InvalidUtf8ReasonIsLeftOut) {
  EXPECT_EQ(decode(close_frame(1000, "\xff oops").bytes()).payload, "\x03\xe8");
}

TEST(ControlFrames, CodeThatMayNotBeSentGivesACloseWithoutCode) {
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 2999, 5000})
    EXPECT_EQ(decode(close_frame(code, "reason").bytes()).length, 0u) << code;
}

TEST(CloseCodes, TheWireTable) {
  EXPECT_TRUE(is_valid_close_code(1000));
  EXPECT_TRUE(is_valid_close_code(1003));
  EXPECT_FALSE(is_valid_close_code(1004));
  EXPECT_FALSE(is_valid_close_code(1005));
  EXPECT_FALSE(is_valid_close_code(1006));
  EXPECT_TRUE(is_valid_close_code(1007));
  EXPECT_TRUE(is_valid_close_code(1013));
  EXPECT_TRUE(is_valid_close_code(1014));
  EXPECT_FALSE(is_valid_close_code(1015));
  EXPECT_FALSE(is_valid_close_code(2999));
  EXPECT_TRUE(is_valid_close_code(3000));
  EXPECT_TRUE(is_valid_close_code(4999));
  EXPECT_FALSE(is_valid_close_code(5000));
}

}  // namespace
}  // namespace newspush::websocket

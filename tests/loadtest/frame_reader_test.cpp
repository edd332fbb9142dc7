#include "loadtest/frame_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace newspush::loadtest {
namespace {

std::string header(std::uint8_t first, std::uint64_t length) {
  std::string h(1, static_cast<char>(first));
  if (length < 126) {
    h += static_cast<char>(length);
  } else if (length < 65536) {
    h += static_cast<char>(126);
    h += static_cast<char>(length >> 8);
    h += static_cast<char>(length & 0xFF);
  } else {
    h += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) h += static_cast<char>((length >> (8 * i)) & 0xFF);
  }
  return h;
}

TEST(FrameReader, SplitsFramesOfEveryLengthEncoding) {
  for (std::size_t length : {0u, 5u, 125u, 126u, 600u, 65535u, 65536u, 200000u}) {
    std::string payload(length, 'a');
    std::string bytes = header(0x81, length) + payload + header(0x81, 1) + "z";
    auto first = next_frame(bytes.data(), bytes.size());
    ASSERT_TRUE(first) << length;
    EXPECT_TRUE(first->fin);
    EXPECT_EQ(first->opcode, 1);
    EXPECT_EQ(first->payload, payload);
    auto second = next_frame(bytes.data() + first->size, bytes.size() - first->size);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->payload, "z");
    EXPECT_EQ(first->size + second->size, bytes.size());
  }
}

TEST(FrameReader, WaitsForWholeFrames) {
  std::string bytes = header(0x81, 300) + std::string(300, 'b');
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(next_frame(bytes.data(), cut)) << cut;
  EXPECT_TRUE(next_frame(bytes.data(), bytes.size()));
}

TEST(FrameReader, UnmasksAndReadsCloseCodes) {
  std::string masked = std::string("\x81\x83", 2) + std::string("\x01\x02\x03\x04", 4) + "abc";
  for (int i = 0; i < 3; ++i) masked[6 + i] ^= "\x01\x02\x03\x04"[i % 4];
  auto frame = next_frame(masked.data(), masked.size());
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, "abc");

  std::string close = header(0x88, 4) + std::string("\x03\xF5", 2) + "ok";  // 1013
  frame = next_frame(close.data(), close.size());
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, 8);
  EXPECT_EQ(close_code_of(frame->payload), 1013u);
  EXPECT_EQ(close_code_of(""), 1005u);
}

}  // namespace
}  // namespace newspush::loadtest

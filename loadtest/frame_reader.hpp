#pragma once
// Splits the bytes a WebSocket client receives into frames, by hand. The load generator reads
// server frames this way instead of through Beast: Beast validates the UTF-8 of every text frame
// and runs a composed operation per message, which made the generator, not the server, the
// limit of a run. Server frames are never masked; masking is handled anyway.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace newspush::loadtest {

struct WsFrame {
  bool fin = true;
  std::uint8_t opcode = 0;  // 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong
  std::string_view payload;  // valid until the bytes it came from are consumed
  std::size_t size = 0;      // header plus payload: what to consume
};

// The first complete frame of `bytes`, or nothing yet. A masked frame's payload is unmasked in
// place (hence the mutable bytes).
inline std::optional<WsFrame> next_frame(char* bytes, std::size_t available) {
  if (available < 2) return std::nullopt;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  WsFrame frame;
  frame.fin = (b[0] & 0x80) != 0;
  frame.opcode = b[0] & 0x0F;
  const bool masked = (b[1] & 0x80) != 0;
  std::uint64_t length = b[1] & 0x7F;
  std::size_t header = 2;
  if (length == 126) {
    if (available < 4) return std::nullopt;
    length = (std::uint64_t{b[2]} << 8) | b[3];
    header = 4;
  } else if (length == 127) {
    if (available < 10) return std::nullopt;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | b[2 + i];
    header = 10;
  }
  const std::size_t mask_at = header;
  if (masked) header += 4;
  if (available < header || available - header < length) return std::nullopt;
  char* payload = bytes + header;
  if (masked)
    for (std::uint64_t i = 0; i < length; ++i) payload[i] ^= bytes[mask_at + (i % 4)];
  frame.payload = std::string_view(payload, static_cast<std::size_t>(length));
  frame.size = header + static_cast<std::size_t>(length);
  return frame;
}

// The status code of a close frame's payload (1005: none given).
inline unsigned close_code_of(std::string_view payload) {
  if (payload.size() < 2) return 1005;
  return (static_cast<unsigned>(static_cast<unsigned char>(payload[0])) << 8) |
         static_cast<unsigned char>(payload[1]);
}

}  // namespace newspush::loadtest

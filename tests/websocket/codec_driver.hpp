#pragma once
// Test helpers for the codec: client frames built by hand (masked, any header bits, any length
// encoding), and a driver that feeds bytes in pieces of a chosen size and records the events
// with their payloads copied (a payload view lives only until the next read()).
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/server_codec.hpp"

namespace newspush::websocket::test {

struct FrameSpec {
  std::uint8_t opcode = 0x1;
  bool final = true;
  std::uint8_t rsv = 0;  // RSV1..RSV3 as bits 0x4, 0x2, 0x1
  bool masked = true;
  // 0: the shortest encoding; 126 or 127: that encoding whatever the size (non-minimal tests);
  // otherwise ignored.
  std::uint8_t length_form = 0;
  // Announced length if not the payload's (a frame that claims more than it carries).
  std::int64_t announced = -1;
  std::uint32_t mask_key = 0x37fa213d;
};

inline std::string frame(const FrameSpec& spec, std::string_view payload) {
  std::string out;
  out.push_back(static_cast<char>((spec.final ? 0x80 : 0) | (spec.rsv << 4) | spec.opcode));
  const std::uint64_t size =
      spec.announced >= 0 ? static_cast<std::uint64_t>(spec.announced) : payload.size();
  const char mask_bit = spec.masked ? static_cast<char>(0x80) : 0;
  std::uint8_t form = spec.length_form;
  if (form == 0) form = size <= 125 ? 0 : size <= 0xFFFF ? 126 : 127;
  if (form == 126) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xFF));
  } else if (form == 127) {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(size >> (56 - 8 * i)));
  } else {
    out.push_back(static_cast<char>(mask_bit | size));
  }
  const char key[4] = {static_cast<char>(spec.mask_key >> 24),
                       static_cast<char>(spec.mask_key >> 16),
                       static_cast<char>(spec.mask_key >> 8), static_cast<char>(spec.mask_key)};
  if (spec.masked) out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(spec.masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  return out;
}

// The usual frames of a well-behaved client.
inline std::string text(std::string_view payload, bool final = true) {
  return frame({.opcode = 0x1, .final = final}, payload);
}
inline std::string binary(std::string_view payload, bool final = true) {
  return frame({.opcode = 0x2, .final = final}, payload);
}
inline std::string continuation(std::string_view payload, bool final = true) {
  return frame({.opcode = 0x0, .final = final}, payload);
}
inline std::string ping(std::string_view payload = {}) { return frame({.opcode = 0x9}, payload); }
inline std::string pong(std::string_view payload = {}) { return frame({.opcode = 0xA}, payload); }
inline std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  payload.append(reason);
  return payload;
}
inline std::string close(std::uint16_t code, std::string_view reason = {}) {
  return frame({.opcode = 0x8}, close_payload(code, reason));
}
inline std::string close_empty() { return frame({.opcode = 0x8}, {}); }

struct Recorded {
  EventKind kind;
  std::string payload;
  std::uint16_t code = 0;
  std::uint16_t peer_code = 0;
  bool operator==(const Recorded&) const = default;
};

inline const char* kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::need_more:
      return "need_more";
    case EventKind::text:
      return "text";
    case EventKind::binary:
      return "binary";
    case EventKind::ping:
      return "ping";
    case EventKind::pong:
      return "pong";
    case EventKind::close_received:
      return "close_received";
    case EventKind::close_completed:
      return "close_completed";
    case EventKind::failed:
      return "failed";
  }
  return "?";
}

inline void PrintTo(const Recorded& event, std::ostream* os) {
  *os << kind_name(event.kind) << "(" << event.payload.size() << " bytes";
  if (event.payload.size() <= 40) *os << " \"" << event.payload << "\"";
  if (event.code) *os << ", code " << event.code;
  if (event.peer_code) *os << ", peer " << event.peer_code;
  *os << ")";
}

inline Recorded Text(std::string payload) { return {EventKind::text, std::move(payload)}; }
inline Recorded Binary(std::string payload) { return {EventKind::binary, std::move(payload)}; }
inline Recorded Ping(std::string payload = {}) { return {EventKind::ping, std::move(payload)}; }
inline Recorded Pong(std::string payload = {}) { return {EventKind::pong, std::move(payload)}; }
inline Recorded Failed(std::uint16_t code) { return {EventKind::failed, {}, code, 0}; }
inline Recorded CloseReceived(std::uint16_t reply, std::uint16_t peer, std::string reason = {}) {
  return {EventKind::close_received, std::move(reason), reply, peer};
}
inline Recorded CloseCompleted(std::uint16_t peer, std::string reason = {}) {
  return {EventKind::close_completed, std::move(reason), 0, peer};
}

inline constexpr std::size_t default_max_message = 16 * 1024 * 1024;

// Feeds `bytes` to `codec` `piece` bytes at a time (0: all at once) and records every event.
inline std::vector<Recorded> feed(ServerCodec& codec, std::string_view bytes, std::size_t piece) {
  std::vector<Recorded> events;
  if (piece == 0) piece = bytes.size() ? bytes.size() : 1;
  for (std::size_t at = 0; at < bytes.size() || at == 0; at += piece) {
    std::string_view input = bytes.substr(at, piece);
    for (;;) {
      const std::size_t before = input.size();
      const Event event = codec.read(input);
      EXPECT_LE(input.size(), before);
      if (event.kind == EventKind::need_more) {
        EXPECT_TRUE(input.empty()) << "need_more with input left";
        break;
      }
      events.push_back({event.kind, std::string(event.payload), event.code, event.peer_code});
    }
    if (bytes.empty()) break;
  }
  return events;
}

inline std::vector<Recorded> run(std::string_view bytes, std::size_t piece,
                                 std::size_t max_message = default_max_message) {
  ServerCodec codec{max_message};
  return feed(codec, bytes, piece);
}

// The heart of every case: the same events whether the bytes come at once, one at a time, or
// in a few odd-sized pieces.
inline void expect_events(std::string_view bytes, const std::vector<Recorded>& expected,
                          std::size_t max_message = default_max_message) {
  EXPECT_EQ(run(bytes, 0, max_message), expected) << "fed at once";
  EXPECT_EQ(run(bytes, 1, max_message), expected) << "fed byte by byte";
  for (std::size_t piece : {2, 3, 7, 997})
    EXPECT_EQ(run(bytes, piece, max_message), expected) << "fed " << piece << " bytes at a time";
}

inline std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts) out.append(part);
  return out;
}

}  // namespace newspush::websocket::test

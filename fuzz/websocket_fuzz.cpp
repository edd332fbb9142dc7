// The RFC 6455 codec (websocket::ServerCodec) fed client bytes: the first input byte picks the
// message size limit (and whether the server already sent its close), the second seeds how the
// rest is split. The same events must come out whether the bytes arrive at once, byte by byte
// or in random pieces; every piece is its own heap block of exactly its size, so a read past it
// trips AddressSanitizer.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "websocket/frame.hpp"
#include "websocket/server_codec.hpp"

using namespace newspush;
using websocket::EventKind;

namespace {

struct Recorded {
  EventKind kind;
  std::string payload;
  std::uint16_t code;
  std::uint16_t peer_code;
  bool operator==(const Recorded&) const = default;
};

struct Setup {
  std::size_t max_message;
  bool close_sent_first;
};

bool terminal(EventKind kind) {
  return kind == EventKind::close_received || kind == EventKind::close_completed ||
         kind == EventKind::failed;
}

// Every event's own invariants, whatever the split.
void check_event(const websocket::Event& event, const Setup& setup) {
  switch (event.kind) {
    case EventKind::text:
      FUZZ_CHECK(fuzz::is_utf8(event.payload));
      [[fallthrough]];
    case EventKind::binary:
      FUZZ_CHECK(event.payload.size() <= setup.max_message);
      FUZZ_CHECK(!setup.close_sent_first);  // messages are dropped once the server sent close
      break;
    case EventKind::ping:
      FUZZ_CHECK(!setup.close_sent_first);
      [[fallthrough]];
    case EventKind::pong:
      FUZZ_CHECK(event.payload.size() <= websocket::max_control_payload);
      break;
    case EventKind::close_received:
      FUZZ_CHECK(!setup.close_sent_first);
      FUZZ_CHECK(websocket::is_valid_close_code(event.code));
      FUZZ_CHECK(event.peer_code == websocket::close_code::no_status
                     ? event.code == websocket::close_code::normal
                     : event.code == event.peer_code);
      FUZZ_CHECK(fuzz::is_utf8(event.payload));
      FUZZ_CHECK(event.payload.size() <= websocket::max_close_reason);
      break;
    case EventKind::close_completed:
      FUZZ_CHECK(setup.close_sent_first);
      FUZZ_CHECK(event.peer_code == websocket::close_code::no_status ||
                 websocket::is_valid_close_code(event.peer_code));
      FUZZ_CHECK(fuzz::is_utf8(event.payload));
      break;
    case EventKind::failed:
      FUZZ_CHECK(event.code == websocket::close_code::protocol_error ||
                 event.code == websocket::close_code::invalid_payload ||
                 event.code == websocket::close_code::message_too_big);
      break;
    case EventKind::need_more:
      break;
  }
}

// Feeds `stream` in pieces of the given sizes (the last piece takes what is left).
std::vector<Recorded> run(std::string_view stream, const std::vector<std::size_t>& pieces,
                          const Setup& setup) {
  websocket::ServerCodec codec{setup.max_message};
  if (setup.close_sent_first) codec.close_sent();
  std::vector<Recorded> events;
  std::size_t at = 0;
  for (std::size_t i = 0; at < stream.size(); ++i) {
    const std::size_t size =
        i < pieces.size() ? std::min(pieces[i], stream.size() - at) : stream.size() - at;
    auto block = std::make_unique<char[]>(size);
    std::memcpy(block.get(), stream.data() + at, size);
    std::string_view input{block.get(), size};
    const char* const end = block.get() + size;
    for (;;) {
      const websocket::Event event = codec.read(input);
      // What is left is always a suffix of the piece: nothing read past it, nothing given back.
      FUZZ_CHECK(input.data() + input.size() == end || input.empty());
      FUZZ_CHECK(input.size() <= size);
      if (event.kind == EventKind::need_more) {
        FUZZ_CHECK(input.empty());
        break;
      }
      FUZZ_CHECK(events.empty() || !terminal(events.back().kind));
      check_event(event, setup);
      events.push_back({event.kind, std::string(event.payload), event.code, event.peer_code});
    }
    at += size;
  }
  return events;
}

// The server's own frame for a message, turned into a client's (masked): the codec must read
// back what the writer wrote.
std::string as_client_frame(websocket::Opcode opcode, std::string_view payload) {
  std::string frame;
  websocket::append_frame(frame, opcode, payload);
  const std::size_t header = websocket::header_size(payload.size());
  frame[1] = static_cast<char>(frame[1] | 0x80);
  const char key[4] = {'\x5a', '\x01', '\xc3', '\x7e'};
  frame.insert(header, key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) frame[header + 4 + i] ^= key[i % 4];
  return frame;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Limits from 0 to ~4.7 KB: small enough that inputs reach them.
  const Setup setup{static_cast<std::size_t>(data[0] & 0x7F) * 37, (data[0] & 0x80) != 0};
  std::uint32_t seed = data[1] * 2654435761u + 1;
  const std::string_view stream = fuzz::as_text(data + 2, size - 2);

  const std::vector<Recorded> whole = run(stream, {}, setup);
  const std::vector<Recorded> bytewise =
      run(stream, std::vector<std::size_t>(stream.size(), 1), setup);
  FUZZ_CHECK(bytewise == whole);
  std::vector<std::size_t> random_pieces;
  for (std::size_t total = 0; total < stream.size();) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t piece = (seed >> 16) % 23;  // empty pieces too
    random_pieces.push_back(piece);
    total += piece;
  }
  FUZZ_CHECK(run(stream, random_pieces, setup) == whole);

  // Every message read round-trips through the writer.
  for (const Recorded& event : whole) {
    if (event.kind != EventKind::text && event.kind != EventKind::binary) continue;
    const auto opcode =
        event.kind == EventKind::text ? websocket::Opcode::text : websocket::Opcode::binary;
    const std::vector<Recorded> again =
        run(as_client_frame(opcode, event.payload), {}, Setup{setup.max_message, false});
    FUZZ_CHECK(again.size() == 1 && again[0] == event);
  }
  // And so does every close reply the codec asks for.
  if (!whole.empty() && whole.back().kind == EventKind::close_received) {
    const websocket::ControlFrame reply =
        websocket::close_frame(whole.back().code, whole.back().payload);
    std::string masked(reply.bytes());
    masked[1] = static_cast<char>(masked[1] | 0x80);
    masked.insert(2, "\0\0\0\0", 4);  // an all-zero key leaves the payload as it is
    const std::vector<Recorded> echoed = run(masked, {}, Setup{setup.max_message, false});
    FUZZ_CHECK(echoed.size() == 1 && echoed[0].kind == EventKind::close_received);
    FUZZ_CHECK(echoed[0].peer_code == whole.back().code);
    FUZZ_CHECK(echoed[0].payload == whole.back().payload);
  }
  return 0;
}

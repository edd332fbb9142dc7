#pragma once
// The server's side of an RFC 6455 connection after the HTTP upgrade, without I/O: bytes read
// from the socket go in, whole messages and control events come out, and the close handshake's
// state is kept here. The caller writes what the events ask for (frame.hpp builds the frames).
//
//   std::string_view input{buffer, bytes_read};
//   for (;;) {
//     websocket::Event event = codec.read(input);
//     if (event.kind == websocket::EventKind::need_more) break;  // input used up
//     ...
//   }
//
// What fails with 1002: an unmasked frame, any RSV bit (no extension is ever negotiated), opcodes
// 3-7 and B-F, a control frame that is fragmented or longer than 125 bytes, a continuation with
// nothing to continue or a new message inside a fragmented one, a 64-bit length with its top bit
// set, a length not in its shortest encoding (5.2 says MUST; browsers and the usual libraries
// comply, and Beast refused them too), a 1-byte close payload or a close code not for the wire.
// 1007: text or a close reason that is not UTF-8, found at the first bad byte. 1009: a message
// over the limit.
//
// Bad input never throws: it ends in one `failed` event carrying the close code to send. Nothing
// is allocated per frame: a message is assembled in one buffer that keeps its capacity (bounded
// by max_message_size) from message to message; control payloads live in the codec itself.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "websocket/frame.hpp"
#include "websocket/utf8.hpp"

namespace newspush::websocket {

enum class EventKind : std::uint8_t {
  need_more,  // the input is used up without completing anything
  text,       // a whole text message (valid UTF-8) in `payload`
  binary,     // a whole binary message in `payload`
  ping,       // answer with pong_frame(payload)
  pong,       // nothing to do (proof of life)
  // The peer started the close handshake: send close_frame(code) (its own code echoed, or 1000
  // when it gave none), call close_sent(), then end the TCP connection once that frame is out.
  // `peer_code` and `payload` are its code (1005: none) and reason.
  close_received,
  // The peer answered the close this server sent: the handshake is over, end the TCP
  // connection. `peer_code` and `payload` as above.
  close_completed,
  // The peer broke the protocol: send close_frame(code) (1002 framing, 1007 bad UTF-8, 1009
  // message too big) unless this server already sent its close (a second one is not allowed),
  // then end the TCP connection without waiting for an answer.
  failed,
};

struct Event {
  EventKind kind = EventKind::need_more;
  // Valid until the next call to read(); for text and binary, the codec's message buffer.
  std::string_view payload;
  std::uint16_t code = 0;       // close_received, failed: the code to send
  std::uint16_t peer_code = 0;  // close_received, close_completed
};

enum class CloseState : std::uint8_t {
  open,
  close_sent,      // this server sent close and waits for the peer's (data is no longer delivered)
  close_received,  // the peer sent close; this server's reply is due
  closed,          // both close frames exchanged
  failed,          // protocol error: the connection is to be dropped
};

class ServerCodec {
 public:
  // The largest message accepted, summed over its fragments; a bigger one fails with 1009 as
  // soon as a frame header announces it, before its payload is read.
  explicit ServerCodec(std::size_t max_message_size) noexcept
      : max_message_size_(max_message_size) {}

  // Consumes bytes from the front of `input` up to and including the frame that completes the
  // next event, and returns it; need_more once `input` is empty. The events depend only on the
  // bytes, never on how they were split between calls. After close_received, close_completed
  // or failed, input is dropped unread.
  Event read(std::string_view& input);

  // The caller wrote a close frame: after close_received that completes the handshake;
  // otherwise this server started it, and the peer's close (close_completed) is awaited while
  // its data and pings are still parsed, checked and then dropped.
  void close_sent() noexcept;

  CloseState close_state() const noexcept { return state_; }
  // A fragmented message has started and awaits its last fragment.
  bool in_message() const noexcept { return in_message_; }
  // Frees the message buffer's memory when no message is being assembled (an idle connection
  // that once got a big message need not keep the buffer).
  void release_buffer() noexcept;

 private:
  Event fail(std::uint16_t code) noexcept;
  // Checks each header byte as it arrives; a failed event if it breaks a rule.
  bool check_first_byte(unsigned char byte, std::uint16_t& code) const noexcept;
  bool header_complete() const noexcept { return header_size_ == header_needed_; }
  Event start_frame() noexcept;  // the header is complete
  Event end_frame() noexcept;    // the payload is complete
  Event end_close_frame() noexcept;

  std::size_t max_message_size_;
  CloseState state_ = CloseState::open;

  // The frame being read: its header (2 to 14 bytes) as it arrives, then its payload.
  std::array<unsigned char, 14> header_{};
  std::uint8_t header_size_ = 0;
  std::uint8_t header_needed_ = 2;
  bool in_payload_ = false;
  bool final_ = false;
  Opcode opcode_ = Opcode::continuation;
  std::array<unsigned char, 4> mask_{};
  std::uint64_t payload_read_ = 0;
  std::uint64_t payload_size_ = 0;

  // The message being assembled (its first frame's opcode), possibly over several fragments.
  bool in_message_ = false;  // a fragmented message awaits continuation frames
  Opcode message_opcode_ = Opcode::text;
  std::string message_;
  Utf8Validator utf8_;

  std::array<char, max_control_payload> control_{};
};

}  // namespace newspush::websocket

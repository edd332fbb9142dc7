#pragma once
// RFC 6455 framing shared by the reader and the writer: opcodes, close codes, and the server's
// frames. Server frames are never masked (5.1), so one frame's bytes can go unchanged to every
// recipient: a fan-out builds header + payload once, in one buffer, and shares it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace newspush::websocket {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// The close codes this server sends (RFC 6455 7.4.1; 1013 is IANA's "try again later").
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
// Only ever reported locally, never on the wire: a close frame without a code.
inline constexpr std::uint16_t no_status = 1005;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t try_again_later = 1013;
}  // namespace close_code

// A code a close frame may carry: the ones RFC 6455 and IANA define for the wire (1000-1003,
// 1007-1014), and the registered and private ranges 3000-4999. Not 1004 (reserved), 1005, 1006
// and 1015 (local reports only), nor anything unassigned.
bool is_valid_close_code(std::uint16_t code) noexcept;

inline constexpr std::size_t max_control_payload = 125;
// A close frame's reason: what is left of the control payload after the 2-byte code.
inline constexpr std::size_t max_close_reason = max_control_payload - 2;
inline constexpr std::size_t max_header_size = 10;  // unmasked: 2 + 8-byte length

// The size of an unmasked frame header for a payload of that size: 2, 4 or 10 bytes.
constexpr std::size_t header_size(std::uint64_t payload_size) noexcept {
  return payload_size <= 125 ? 2 : payload_size <= 0xFFFF ? 4 : 10;
}
constexpr std::size_t frame_size(std::uint64_t payload_size) noexcept {
  return header_size(payload_size) + payload_size;
}

// Writes the header of an unmasked frame (the shortest length encoding, as 5.2 requires) at
// `out`, which must have room for header_size(payload_size) bytes; returns that size. `final`
// false starts or continues a fragmented message.
std::size_t write_header(char* out, Opcode opcode, std::uint64_t payload_size,
                         bool final = true) noexcept;

// Appends one whole unmasked frame (header, then payload) to `out`.
void append_frame(std::string& out, Opcode opcode, std::string_view payload);

// A ping, pong or close frame, built without allocating.
class ControlFrame {
 public:
  std::string_view bytes() const noexcept { return {bytes_.data(), size_}; }

 private:
  friend ControlFrame make_control_frame(Opcode, std::string_view, std::string_view) noexcept;
  std::array<char, 2 + max_control_payload> bytes_{};
  std::uint8_t size_ = 0;
};

// Ping and pong carry at most 125 bytes: a longer payload is cut there (a pong answering a
// ping event's payload never is).
ControlFrame ping_frame(std::string_view payload = {}) noexcept;
ControlFrame pong_frame(std::string_view payload) noexcept;
// A close frame with that code and reason. The reason is cut to 123 bytes without splitting a
// UTF-8 character, and left out if it is not UTF-8 (the peer would have to fail on it). A code
// that may not be sent (1005, 1006, 0, ...) gives a close frame without a code.
ControlFrame close_frame(std::uint16_t code, std::string_view reason = {}) noexcept;

}  // namespace newspush::websocket

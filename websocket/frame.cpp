#include "websocket/frame.hpp"

#include <algorithm>
#include <cstring>

#include "websocket/utf8.hpp"

namespace newspush::websocket {

bool is_valid_close_code(std::uint16_t code) noexcept {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

std::size_t write_header(char* out, Opcode opcode, std::uint64_t payload_size,
                         bool final) noexcept {
  out[0] = static_cast<char>((final ? 0x80 : 0x00) | static_cast<std::uint8_t>(opcode));
  if (payload_size <= 125) {
    out[1] = static_cast<char>(payload_size);
    return 2;
  }
  if (payload_size <= 0xFFFF) {
    out[1] = static_cast<char>(126);
    out[2] = static_cast<char>(payload_size >> 8);
    out[3] = static_cast<char>(payload_size & 0xFF);
    return 4;
  }
  out[1] = static_cast<char>(127);
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>(payload_size >> (56 - 8 * i));
  return 10;
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload) {
  const std::size_t start = out.size();
  out.resize(start + frame_size(payload.size()));
  const std::size_t header = write_header(out.data() + start, opcode, payload.size());
  if (!payload.empty()) std::memcpy(out.data() + start + header, payload.data(), payload.size());
}

ControlFrame make_control_frame(Opcode opcode, std::string_view prefix,
                                std::string_view payload) noexcept {
  ControlFrame frame;
  payload = payload.substr(0, max_control_payload - prefix.size());
  const std::size_t header =
      write_header(frame.bytes_.data(), opcode, prefix.size() + payload.size());
  char* body = frame.bytes_.data() + header;
  if (!prefix.empty()) std::memcpy(body, prefix.data(), prefix.size());
  if (!payload.empty()) std::memcpy(body + prefix.size(), payload.data(), payload.size());
  frame.size_ = static_cast<std::uint8_t>(header + prefix.size() + payload.size());
  return frame;
}

ControlFrame ping_frame(std::string_view payload) noexcept {
  return make_control_frame(Opcode::ping, {}, payload);
}

ControlFrame pong_frame(std::string_view payload) noexcept {
  return make_control_frame(Opcode::pong, {}, payload);
}

ControlFrame close_frame(std::uint16_t code, std::string_view reason) noexcept {
  if (!is_valid_close_code(code)) return make_control_frame(Opcode::close, {}, {});
  const char code_bytes[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  reason = reason.substr(0, utf8_prefix_size(reason, max_close_reason));
  if (!is_valid_utf8(reason)) reason = {};
  return make_control_frame(Opcode::close, {code_bytes, 2}, reason);
}

}  // namespace newspush::websocket

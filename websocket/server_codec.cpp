#include "websocket/server_codec.hpp"

#include <algorithm>
#include <cstring>

namespace newspush::websocket {
namespace {

constexpr bool is_control(Opcode opcode) noexcept {
  return (static_cast<std::uint8_t>(opcode) & 0x8) != 0;
}

// XORs `size` bytes with the masking key, starting `offset` bytes into the frame's payload.
void unmask(char* out, const char* in, std::size_t size, const std::array<unsigned char, 4>& key,
            std::uint64_t offset) noexcept {
  const std::size_t phase = offset & 3;
  // Eight bytes at a time with the key repeated twice, turned to this chunk's phase.
  unsigned char key8[8];
  for (std::size_t j = 0; j < 8; ++j) key8[j] = key[(phase + j) & 3];
  std::uint64_t key_word;
  std::memcpy(&key_word, key8, 8);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, in + i, 8);
    word ^= key_word;
    std::memcpy(out + i, &word, 8);
  }
  for (; i < size; ++i) out[i] = static_cast<char>(in[i] ^ key[(phase + i) & 3]);
}

std::uint64_t big_endian(const unsigned char* bytes, std::size_t size) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value = (value << 8) | bytes[i];
  return value;
}

}  // namespace

Event ServerCodec::fail(std::uint16_t code) noexcept {
  state_ = CloseState::failed;
  return {EventKind::failed, {}, code, 0};
}

bool ServerCodec::check_first_byte(unsigned char byte, std::uint16_t& code) const noexcept {
  code = close_code::protocol_error;
  // RSV1-3: no extension was negotiated, so none may be set (5.2).
  if (byte & 0x70) return false;
  const std::uint8_t op = byte & 0x0F;
  if ((op >= 0x3 && op <= 0x7) || op >= 0xB) return false;
  const auto opcode = static_cast<Opcode>(op);
  const bool final = (byte & 0x80) != 0;
  // Control frames are never fragmented (5.5), but may come between a message's fragments.
  if (is_control(opcode)) return final;
  if (opcode == Opcode::continuation) return in_message_;
  return !in_message_;  // a new message before the last one's final fragment
}

Event ServerCodec::read(std::string_view& input) {
  if (state_ == CloseState::close_received || state_ == CloseState::closed ||
      state_ == CloseState::failed) {
    input = {};
    return {};
  }
  for (;;) {
    if (!in_payload_) {
      if (input.empty()) return {};
      const auto byte = static_cast<unsigned char>(input.front());
      input.remove_prefix(1);
      header_[header_size_++] = byte;
      const std::uint8_t length7 = header_[1] & 0x7F;
      if (header_size_ == 1) {
        std::uint16_t code;
        if (!check_first_byte(byte, code)) return fail(code);
      } else if (header_size_ == 2) {
        // Client frames are always masked (5.1).
        if (!(byte & 0x80)) return fail(close_code::protocol_error);
        if (is_control(static_cast<Opcode>(header_[0] & 0x0F)) && length7 > max_control_payload)
          return fail(close_code::protocol_error);
        header_needed_ = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + 4;
      } else if (length7 == 126 && header_size_ == 4) {
        // The minimal length encoding MUST be used (5.2): 126 only for 126..65535.
        if (big_endian(&header_[2], 2) < 126) return fail(close_code::protocol_error);
      } else if (length7 == 127 && header_size_ == 3 && (byte & 0x80)) {
        return fail(close_code::protocol_error);  // 64-bit length with its top bit set
      } else if (length7 == 127 && header_size_ == 10) {
        if (big_endian(&header_[2], 8) <= 0xFFFF) return fail(close_code::protocol_error);
      }
      if (header_complete()) {
        Event event = start_frame();
        if (event.kind != EventKind::need_more) return event;
      }
      continue;
    }
    if (payload_read_ < payload_size_) {
      if (input.empty()) return {};
      const std::size_t take = static_cast<std::size_t>(
          std::min<std::uint64_t>(payload_size_ - payload_read_, input.size()));
      if (is_control(opcode_)) {
        unmask(control_.data() + payload_read_, input.data(), take, mask_, payload_read_);
      } else {
        const std::size_t start = message_.size();
        message_.resize(start + take);
        unmask(message_.data() + start, input.data(), take, mask_, payload_read_);
        // Fail fast: at the first invalid byte, not when the message ends.
        if (message_opcode_ == Opcode::text &&
            !utf8_.feed(std::string_view{message_}.substr(start)))
          return fail(close_code::invalid_payload);
      }
      input.remove_prefix(take);
      payload_read_ += take;
      if (payload_read_ < payload_size_) return {};
    }
    Event event = end_frame();
    if (event.kind != EventKind::need_more) return event;
  }
}

Event ServerCodec::start_frame() noexcept {
  opcode_ = static_cast<Opcode>(header_[0] & 0x0F);
  final_ = (header_[0] & 0x80) != 0;
  const std::uint8_t length7 = header_[1] & 0x7F;
  payload_size_ = length7 == 126   ? big_endian(&header_[2], 2)
                  : length7 == 127 ? big_endian(&header_[2], 8)
                                   : length7;
  std::memcpy(mask_.data(), &header_[header_needed_ - 4], 4);
  payload_read_ = 0;
  in_payload_ = true;
  if (!is_control(opcode_)) {
    if (opcode_ != Opcode::continuation) {
      message_opcode_ = opcode_;
      message_.clear();
      utf8_.reset();
    }
    if (payload_size_ > max_message_size_ - std::min(message_.size(), max_message_size_))
      return fail(close_code::message_too_big);
    in_message_ = !final_;
  }
  return {};
}

Event ServerCodec::end_frame() noexcept {
  in_payload_ = false;
  header_size_ = 0;
  header_needed_ = 2;
  const std::string_view control{control_.data(), static_cast<std::size_t>(payload_size_)};
  switch (opcode_) {
    case Opcode::ping:
      if (state_ == CloseState::close_sent) return {};
      return {EventKind::ping, control, 0, 0};
    case Opcode::pong:
      return {EventKind::pong, control, 0, 0};
    case Opcode::close:
      return end_close_frame();
    default:
      break;
  }
  if (!final_) return {};
  if (message_opcode_ == Opcode::text && !utf8_.at_boundary())
    return fail(close_code::invalid_payload);  // the text ends inside a character
  if (state_ == CloseState::close_sent) return {};
  return {message_opcode_ == Opcode::text ? EventKind::text : EventKind::binary, message_, 0, 0};
}

Event ServerCodec::end_close_frame() noexcept {
  const std::string_view payload{control_.data(), static_cast<std::size_t>(payload_size_)};
  std::uint16_t peer_code = close_code::no_status;
  std::string_view reason;
  if (payload.size() == 1) return fail(close_code::protocol_error);  // half a code
  if (payload.size() >= 2) {
    peer_code = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                           static_cast<unsigned char>(payload[1]));
    if (!is_valid_close_code(peer_code)) return fail(close_code::protocol_error);
    reason = payload.substr(2);
    if (!is_valid_utf8(reason)) return fail(close_code::invalid_payload);
  }
  if (state_ == CloseState::close_sent) {
    state_ = CloseState::closed;
    return {EventKind::close_completed, reason, 0, peer_code};
  }
  state_ = CloseState::close_received;
  const std::uint16_t reply = peer_code == close_code::no_status ? close_code::normal : peer_code;
  return {EventKind::close_received, reason, reply, peer_code};
}

void ServerCodec::close_sent() noexcept {
  if (state_ == CloseState::open)
    state_ = CloseState::close_sent;
  else if (state_ == CloseState::close_received)
    state_ = CloseState::closed;
}

void ServerCodec::release_buffer() noexcept {
  const bool assembling = in_message_ || (in_payload_ && !is_control(opcode_));
  if (!assembling) std::string().swap(message_);
}

}  // namespace newspush::websocket

#pragma once
// base64url (RFC 4648 section 5), as Web Push keys, VAPID and JWTs spell bytes.
#include <optional>
#include <string>
#include <string_view>

namespace newspush::bridge {

// Unpadded, as RFC 7515 and RFC 8291 write it.
std::string base64url_encode(std::string_view bytes);

// Accepts unpadded text, or text padded with '=' to a multiple of 4 (some subscription stores
// pad). Refuses '+' and '/' (standard base64), whitespace, and any non-canonical spelling (bits
// left over after the last byte that are not zero), so one value has exactly one accepted text.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace newspush::bridge

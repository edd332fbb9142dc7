#pragma once
// base64url (RFC 4648 section 5), as JWTs (connection tokens, VAPID, APNs and FCM) and Web Push
// keys spell bytes: shared by newspushd, the CLI and the bridge.
#include <optional>
#include <string>
#include <string_view>

namespace newspush {

// Unpadded, as RFC 7515 and RFC 8291 write it.
std::string base64url_encode(std::string_view bytes);

// Unpadded text only (JWT segments: RFC 7515). Refuses '+' and '/' (standard base64), '=',
// whitespace, and any non-canonical spelling (bits left over after the last byte that are not
// zero), so one value has exactly one accepted text.
std::optional<std::string> base64url_decode(std::string_view text);

// The same, but text padded with '=' to a multiple of 4 is accepted too (some Web Push
// subscription stores pad their keys).
std::optional<std::string> base64url_decode_maybe_padded(std::string_view text);

}  // namespace newspush

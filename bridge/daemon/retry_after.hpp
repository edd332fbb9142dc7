#pragma once
// A provider's Retry-After header (RFC 9110: delay-seconds or an HTTP-date), for SendResult.
#include <chrono>
#include <optional>
#include <string_view>

namespace newspush::bridge {

// Never more than this, whatever the provider says: a bad header cannot park a send for days.
inline constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(1);

// nullopt when absent or unreadable; a date in the past gives zero.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace newspush::bridge

#pragma once
// A position in the shared history. On the wire it is an opaque string "<epoch>:<ms>-<seq>":
// the epoch names one incarnation of the history (it changes if Redis loses its data), the rest
// is the Redis stream entry id. Only the server compares cursors, and only within one epoch.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace newspush::protocol {

struct Cursor {
  std::string epoch;
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  // True when both name the same history and this one comes later.
  bool is_after(const Cursor& other) const {
    return epoch == other.epoch && (ms > other.ms || (ms == other.ms && seq > other.seq));
  }
  // True when both name the same history and this one is not later: whoever has reached `other`
  // already had this one. False across epochs, where nothing was had (a new history's events are
  // all new), which !is_after alone would not say.
  bool is_at_or_before(const Cursor& other) const {
    return epoch == other.epoch && !is_after(other);
  }
  bool operator==(const Cursor&) const = default;
};

std::optional<Cursor> parse_cursor(std::string_view text);
std::string to_string(const Cursor& cursor);

}  // namespace newspush::protocol

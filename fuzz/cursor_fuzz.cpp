// Resume cursors as clients send them in "since" (protocol::parse_cursor).
#include <cstdint>

#include "fuzz/fuzz_check.hpp"
#include "protocol/cursor.hpp"

using namespace newspush;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  auto cursor = protocol::parse_cursor(text);
  if (!cursor) return 0;
  FUZZ_CHECK(text.size() <= 128);
  FUZZ_CHECK(!cursor->epoch.empty());
  FUZZ_CHECK(!cursor->is_after(*cursor));

  // The canonical form parses back to the same position and is never longer than the input.
  const std::string canonical = protocol::to_string(*cursor);
  FUZZ_CHECK(canonical.size() <= text.size());
  auto again = protocol::parse_cursor(canonical);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->epoch == cursor->epoch && again->ms == cursor->ms && again->seq == cursor->seq);
  FUZZ_CHECK(protocol::to_string(*again) == canonical);

  // Ordering: the next entry of the same stream comes after, one of another epoch never does.
  protocol::Cursor next = *cursor;
  if (next.seq != UINT64_MAX) {
    ++next.seq;
    FUZZ_CHECK(next.is_after(*cursor) && !cursor->is_after(next));
  }
  protocol::Cursor other = next;
  other.epoch += "x";
  FUZZ_CHECK(!other.is_after(*cursor) && !cursor->is_after(other));
  return 0;
}

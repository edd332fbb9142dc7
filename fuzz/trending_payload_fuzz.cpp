// What the trending leader publishes on news:trending, "<seq>\n<category>\n<frame>", forwarded
// to clients as is when it passes (trending::parse_payload).
#include <cstdint>

#include "fuzz/fuzz_json.hpp"
#include "protocol/category.hpp"
#include "server/trending/payload.hpp"

using namespace newspush;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto payload = trending::parse_payload(fuzz::as_text(data, size));
  if (!payload) return 0;
  FUZZ_CHECK(payload->category == protocol::kAllCategories ||
             protocol::is_valid_category(payload->category));
  auto frame = fuzz::parse_message(payload->frame);
  FUZZ_CHECK(frame["type"] == "trending" && frame["category"] == payload->category);
  FUZZ_CHECK(frame["items"].is_array());
  return 0;
}

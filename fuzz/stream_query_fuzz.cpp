// GET /sse query strings (protocol::parse_stream_query): what a reader asks for in a URL, and
// the events framed for it.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <variant>

#include "fuzz/fuzz_check.hpp"
#include "fuzz/fuzz_json.hpp"
#include "protocol/category.hpp"
#include "protocol/messages.hpp"
#include "protocol/sse.hpp"

using namespace newspush;

namespace {

const std::set<std::string> kCodes = {"bad_categories", "bad_category", "too_many_categories",
                                      "bad_since", "bad_trending"};

void check_list(const std::vector<std::string>& list, std::size_t max) {
  FUZZ_CHECK(list.size() <= max);
  for (std::size_t i = 0; i < list.size(); ++i) {
    FUZZ_CHECK(list[i] == protocol::kAllCategories || protocol::is_valid_category(list[i]));
    FUZZ_CHECK(std::find(list.begin() + i + 1, list.end(), list[i]) == list.end());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view query = fuzz::as_text(data, size);
  for (std::size_t max : {std::size_t{2}, std::size_t{64}}) {
    auto result = protocol::parse_stream_query(query, max);
    if (auto* error = std::get_if<protocol::CommandError>(&result)) {
      FUZZ_CHECK(kCodes.count(error->code) == 1);
      FUZZ_CHECK(fuzz::is_utf8(error->message));
      continue;
    }
    const auto& subscribe = std::get<protocol::Subscribe>(result);
    check_list(subscribe.categories, max);
    check_list(subscribe.trending, max);
    FUZZ_CHECK(!subscribe.categories.empty() || !subscribe.trending.empty());
    if (!subscribe.since) continue;
    FUZZ_CHECK(protocol::is_event_id(*subscribe.since));
    FUZZ_CHECK(subscribe.since->find_first_of("\r\n", 0, 2) == std::string::npos);
    // The cursor a reader sent comes back in its subscribed event: the message stays one line
    // (JSON escapes any newline), so the event's data cannot be split.
    std::string message = protocol::subscribed_message(subscribe.categories, *subscribe.since,
                                                       subscribe.trending);
    FUZZ_CHECK(message.find('\n') == std::string::npos);
    FUZZ_CHECK(protocol::message_type(message) == "subscribed");
  }
  return 0;
}

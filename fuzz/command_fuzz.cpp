// Client commands, one JSON object per WebSocket text frame (protocol::parse_command), and the
// replies built from what they carry.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <variant>

#include "fuzz/fuzz_json.hpp"
#include "protocol/category.hpp"
#include "protocol/command.hpp"
#include "protocol/messages.hpp"

using namespace newspush;

namespace {

const std::set<std::string> kCodes = {
    "invalid_json", "not_object",          "missing_op", "unknown_op",   "bad_categories",
    "bad_category", "too_many_categories", "bad_since",  "bad_trending", "bad_article",
    "bad_token"};

void check_list(const std::vector<std::string>& list, std::size_t max) {
  FUZZ_CHECK(list.size() <= max);
  for (std::size_t i = 0; i < list.size(); ++i) {
    FUZZ_CHECK(list[i] == protocol::kAllCategories || protocol::is_valid_category(list[i]));
    FUZZ_CHECK(std::find(list.begin() + i + 1, list.end(), list[i]) == list.end());
  }
}

void check(const protocol::CommandParseResult& result, std::size_t max) {
  if (auto* error = std::get_if<protocol::CommandError>(&result)) {
    FUZZ_CHECK(kCodes.count(error->code) == 1);
    // Client text is echoed in the message: it must stay UTF-8 and fit one line.
    FUZZ_CHECK(fuzz::is_utf8(error->message));
    auto reply = fuzz::parse_message(protocol::error_message(error->code, error->message));
    FUZZ_CHECK(reply["message"] == error->message);
    return;
  }
  const auto& command = std::get<protocol::Command>(result);
  if (auto* subscribe = std::get_if<protocol::Subscribe>(&command)) {
    check_list(subscribe->categories, max);
    check_list(subscribe->trending, max);
    FUZZ_CHECK(!subscribe->categories.empty() || !subscribe->trending.empty());
    if (subscribe->since) FUZZ_CHECK(!subscribe->since->empty() && subscribe->since->size() <= 128);
    auto reply = fuzz::parse_message(protocol::subscribed_message(
        subscribe->categories, subscribe->since.value_or(""), subscribe->trending));
    FUZZ_CHECK(reply["categories"].size() == subscribe->categories.size());
  } else if (auto* unsubscribe = std::get_if<protocol::Unsubscribe>(&command)) {
    check_list(unsubscribe->categories, max);
    check_list(unsubscribe->trending, max);
    FUZZ_CHECK(!unsubscribe->categories.empty() || !unsubscribe->trending.empty());
  } else if (auto* view = std::get_if<protocol::View>(&command)) {
    FUZZ_CHECK(!view->article.empty() && view->article.size() <= protocol::kMaxIdLength);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  auto wide = protocol::parse_command(text, 64);
  check(wide, 64);
  // A command within a tight limit is accepted the same way under a loose one.
  auto tight = protocol::parse_command(text, 2);
  check(tight, 2);
  if (std::holds_alternative<protocol::Command>(tight)) {
    FUZZ_CHECK(std::holds_alternative<protocol::Command>(wide));
    FUZZ_CHECK(std::get<protocol::Command>(tight).index() == std::get<protocol::Command>(wide).index());
  }
  return 0;
}

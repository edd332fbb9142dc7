#include "protocol/sse.hpp"

#include <algorithm>
#include <optional>

#include "protocol/category.hpp"
#include "protocol/url_query.hpp"

namespace newspush::protocol {
namespace {

std::optional<CommandError> read_list(std::string_view encoded, const char* bad_entry,
                                      std::size_t max_categories, std::vector<std::string>& out) {
  auto list = percent_decode(encoded, /*plus_is_space=*/true);
  if (!list) return CommandError{bad_entry, "malformed %-escape in a category list"};
  std::string_view rest = *list;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view name = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (name.empty()) continue;  // "a,,b" and a trailing comma are harmless
    if (name != kAllCategories && !is_valid_category(name))
      return CommandError{bad_entry, "each category must match [a-z0-9-]{1,32} or be \"*\""};
    if (std::find(out.begin(), out.end(), name) != out.end()) continue;
    if (out.size() == max_categories)
      return CommandError{"too_many_categories",
                          "at most " + std::to_string(max_categories) + " categories per request"};
    out.emplace_back(name);
  }
  return std::nullopt;
}

}  // namespace

bool is_event_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxSinceLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte != 0x7F;
  });
}

std::variant<Subscribe, CommandError> parse_stream_query(std::string_view query,
                                                         std::size_t max_categories) {
  Subscribe subscribe;
  std::optional<CommandError> error;
  for_each_query_param(query, [&](std::string_view name, std::string_view value) {
    if (name == "categories") {
      error = read_list(value, "bad_category", max_categories, subscribe.categories);
    } else if (name == "trending") {
      error = read_list(value, "bad_trending", max_categories, subscribe.trending);
    } else if (name == "since") {
      auto since = percent_decode(value, /*plus_is_space=*/true);
      if (since && is_event_id(*since)) subscribe.since = std::move(*since);
      else error = CommandError{"bad_since", "since must be a cursor of 1 to " +
                                                 std::to_string(kMaxSinceLength) +
                                                 " bytes, without control characters"};
    }
    return error.has_value();
  });
  if (error) return *error;
  if (subscribe.categories.empty() && subscribe.trending.empty())
    return CommandError{"bad_categories",
                        "name at least one category (?categories=sports,politique or *) or a "
                        "trending list (?trending=*)"};
  return subscribe;
}

std::string sse_event(std::string_view type, std::string_view id, std::string_view data) {
  std::string event;
  event.reserve(type.size() + id.size() + data.size() + 24);
  event.append("event: ").append(type).append("\n");
  if (!id.empty()) event.append("id: ").append(id).append("\n");
  event.append("data: ").append(data).append("\n\n");
  return event;
}

std::string_view message_type(std::string_view message) {
  constexpr std::string_view prefix = R"({"type":")";
  if (!message.starts_with(prefix)) return {};
  message.remove_prefix(prefix.size());
  return message.substr(0, message.find('"'));
}

}  // namespace newspush::protocol

#include "protocol/sse.hpp"

#include <algorithm>
#include <optional>

#include "protocol/category.hpp"

namespace newspush::protocol {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query strings encode a space as '+'; a bad escape is kept as it is, and then fails validation.
std::string percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<CommandError> read_list(std::string_view encoded, const char* bad_entry,
                                      std::size_t max_categories, std::vector<std::string>& out) {
  std::string list = percent_decoded(encoded);
  std::string_view rest = list;
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
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (name == "categories") {
      if (auto error = read_list(value, "bad_category", max_categories, subscribe.categories))
        return *error;
    } else if (name == "trending") {
      if (auto error = read_list(value, "bad_trending", max_categories, subscribe.trending))
        return *error;
    } else if (name == "since") {
      std::string since = percent_decoded(value);
      if (!is_event_id(since))
        return CommandError{"bad_since", "since must be a cursor of 1 to " +
                                             std::to_string(kMaxSinceLength) +
                                             " bytes, without control characters"};
      subscribe.since = std::move(since);
    }
  }
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

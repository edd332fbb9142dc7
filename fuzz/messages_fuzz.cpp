// Server messages built from strings that came from elsewhere (Redis, clients, configuration):
// close reasons, errors, retractions, resets, trending lists. Input: fields separated by '\n'.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_json.hpp"
#include "protocol/messages.hpp"
#include "protocol/trending.hpp"

using namespace newspush;

namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> fields;
  while (true) {
    auto newline = text.find('\n');
    fields.push_back(text.substr(0, newline));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  return fields;
}

// A string that went through a message comes back unchanged when it was valid UTF-8.
void check_field(const nlohmann::ordered_json& message, const char* name, std::string_view sent) {
  FUZZ_CHECK(message.contains(name) && message[name].is_string());
  if (fuzz::is_utf8(sent)) FUZZ_CHECK(message[name].get<std::string>() == sent);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto fields = split_lines(fuzz::as_text(data, size));
  fields.resize(std::max<std::size_t>(fields.size(), 4));
  const std::string_view a = fields[0], b = fields[1], c = fields[2], d = fields[3];

  // RFC 6455: a close reason fits in 123 bytes, whatever the code holds.
  const std::string reason = protocol::close_reason(a);
  FUZZ_CHECK(reason.size() <= 123);
  auto close = fuzz::parse_message(reason);
  FUZZ_CHECK(close["code"].is_string());
  if (fuzz::is_utf8(a) && a.size() <= 64 && a.find_first_of("\"\\") == std::string_view::npos) {
    bool plain = true;
    for (char ch : a) plain = plain && static_cast<unsigned char>(ch) >= 0x20;
    if (plain) FUZZ_CHECK(close["code"] == a);
  }

  auto error = fuzz::parse_message(protocol::error_message(a, b));
  check_field(error, "code", a);
  check_field(error, "message", b);

  auto retract = fuzz::parse_message(protocol::retract_event(a, b, c, !d.empty()));
  check_field(retract, "cursor", a);
  check_field(retract, "id", b);
  check_field(retract, "category", c);

  auto reset = fuzz::parse_message(protocol::reset_message(a, b));
  check_field(reset, "reason", a);
  check_field(reset, "cursor", b);

  protocol::TrendingList list;
  list.category = std::string(a);
  for (std::size_t i = 1; i + 2 < fields.size(); i += 3) {
    protocol::TrendingItem item;
    item.id = std::string(fields[i]);
    item.title = std::string(fields[i + 1]);
    item.url = std::string(fields[i + 2]);
    item.category = std::string(a);
    item.score = static_cast<double>(fields[i + 1].size()) / 3.0;
    list.items.push_back(std::move(item));
  }
  if (!d.empty()) list.at_ms = static_cast<std::int64_t>(d.size()) * 1000;
  auto trending = fuzz::parse_message(protocol::trending_message(list));
  FUZZ_CHECK(trending["type"] == "trending" && trending["items"].size() == list.items.size());
  check_field(trending, "category", a);
  return 0;
}

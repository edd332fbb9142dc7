#include "server/trending/payload.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "protocol/bounded_json.hpp"
#include "protocol/category.hpp"

namespace newspush::trending {

std::optional<TrendingPayload> parse_payload(std::string_view payload) {
  auto first = payload.find('\n');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = payload.find('\n', first + 1);
  if (second == std::string_view::npos) return std::nullopt;

  TrendingPayload out;
  std::string_view seq = payload.substr(0, first);
  auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), out.seq);
  if (ec != std::errc() || end != seq.data() + seq.size() || seq.empty()) return std::nullopt;

  out.category = payload.substr(first + 1, second - first - 1);
  if (out.category != protocol::kAllCategories && !protocol::is_valid_category(out.category))
    return std::nullopt;

  std::string_view frame = payload.substr(second + 1);
  if (frame.empty() || frame.find('\n') != std::string_view::npos) return std::nullopt;
  bool too_deep = false;
  auto message = protocol::parse_bounded<nlohmann::json>(frame, too_deep);
  if (too_deep || !message.is_object()) return std::nullopt;
  auto is_string = [&message](const char* field, std::string_view expected) {
    auto it = message.find(field);
    return it != message.end() && it->is_string() && it->get_ref<const std::string&>() == expected;
  };
  auto items = message.find("items");
  if (!is_string("type", "trending") || !is_string("category", out.category) ||
      items == message.end() || !items->is_array())
    return std::nullopt;
  out.frame = frame;
  return out;
}

}  // namespace newspush::trending

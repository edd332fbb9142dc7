#include "protocol/trending.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace newspush::protocol {

std::string trending_message(const TrendingList& list) {
  using Json = nlohmann::ordered_json;
  Json items = Json::array();
  for (const auto& item : list.items) {
    Json entry = {{"id", item.id}, {"title", item.title}};
    if (!item.url.empty()) entry["url"] = item.url;
    entry["category"] = item.category;
    // Two decimals are what a reader can see; more would only make every list look changed.
    entry["score"] = std::round(item.score * 100.0) / 100.0;
    items.push_back(std::move(entry));
  }
  Json message = {{"type", "trending"}, {"category", list.category}, {"items", std::move(items)}};
  if (list.at_ms) message["at"] = *list.at_ms;
  return message.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace newspush::protocol

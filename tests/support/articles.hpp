#pragma once
// Building articles as a newsroom would publish them, for integration tests.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/redis_server.hpp"

namespace newspush::test {

inline nlohmann::json make_article(const std::string& id, const std::string& category,
                                   bool breaking = false) {
  nlohmann::json article = {{"id", id}, {"category", category}, {"title", "Titre " + id}};
  if (breaking) article["breaking"] = true;
  return article;
}

// The atomic publish path, as an integrator calls it; returns the article's cursor.
inline std::string publish(RedisServer& redis, const nlohmann::json& article) {
  auto reply = redis.command({"FCALL", "newspush_publish", "1", "news:log", article.dump()});
  if (reply.type != RedisValue::Type::array) throw std::runtime_error("publish failed: " + reply.text);
  return reply.elements.at(0).text;
}

// The ids of "article" events, in arrival order.
inline std::vector<std::string> ids_of(const std::vector<nlohmann::json>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.at("article").at("id").get<std::string>());
  return ids;
}

}  // namespace newspush::test

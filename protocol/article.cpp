#include "protocol/article.hpp"

#include <nlohmann/json.hpp>

#include "protocol/bounded_json.hpp"
#include "protocol/category.hpp"

namespace newspush::protocol {
namespace {

using Json = nlohmann::ordered_json;  // ordered: clients see the keys in the order published

ArticleParseResult fail(ArticleError error, std::string detail) {
  ArticleParseResult result;
  result.error = error;
  result.detail = std::move(detail);
  return result;
}

}  // namespace

std::string_view to_string(ArticleError error) {
  switch (error) {
    case ArticleError::none:
      return "none";
    case ArticleError::too_large:
      return "too_large";
    case ArticleError::not_json:
      return "not_json";
    case ArticleError::too_deep:
      return "too_deep";
    case ArticleError::not_object:
      return "not_object";
    case ArticleError::bad_id:
      return "bad_id";
    case ArticleError::bad_category:
      return "bad_category";
    case ArticleError::bad_title:
      return "bad_title";
    case ArticleError::bad_breaking:
      return "bad_breaking";
  }
  return "unknown";
}

ArticleParseResult parse_article(std::string_view payload, std::size_t max_bytes) {
  if (payload.size() > max_bytes) {
    return fail(ArticleError::too_large, "article is " + std::to_string(payload.size()) +
                                             " bytes, limit is " + std::to_string(max_bytes));
  }
  bool too_deep = false;
  Json doc = parse_bounded<Json>(payload, too_deep);
  if (too_deep) {
    return fail(ArticleError::too_deep,
                "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  if (doc.is_discarded()) return fail(ArticleError::not_json, "not valid JSON (or not UTF-8)");
  if (!doc.is_object()) return fail(ArticleError::not_object, "article must be a JSON object");

  auto id = doc.find("id");
  if (id == doc.end() || !id->is_string() || id->get_ref<const std::string&>().empty() ||
      id->get_ref<const std::string&>().size() > kMaxIdLength) {
    return fail(ArticleError::bad_id,
                "\"id\" must be a string of 1 to " + std::to_string(kMaxIdLength) + " bytes");
  }
  auto category = doc.find("category");
  if (category == doc.end() || !category->is_string() ||
      !is_valid_category(category->get_ref<const std::string&>())) {
    return fail(ArticleError::bad_category, "\"category\" must match [a-z0-9-]{1,32}");
  }
  auto title = doc.find("title");
  if (title == doc.end() || !title->is_string() || title->get_ref<const std::string&>().empty()) {
    return fail(ArticleError::bad_title, "\"title\" must be a non-empty string");
  }
  bool breaking = false;
  if (auto flag = doc.find("breaking"); flag != doc.end()) {
    if (!flag->is_boolean()) return fail(ArticleError::bad_breaking, "\"breaking\" must be a bool");
    breaking = flag->get<bool>();
  }

  ArticleParseResult result;
  result.article.id = id->get<std::string>();
  result.article.category = category->get<std::string>();
  result.article.breaking = breaking;
  // The lexer already rejected invalid UTF-8, so a strict dump cannot throw here. Compact output
  // escapes control characters, so the result never holds a raw newline.
  result.article.json = doc.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::strict);
  return result;
}

}  // namespace newspush::protocol

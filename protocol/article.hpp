#pragma once
// Articles as the newsroom publishes them on Redis, validated once on the way in.
#include <cstddef>
#include <string>
#include <string_view>

namespace newspush::protocol {

inline constexpr std::size_t kMaxIdLength = 128;
inline constexpr std::size_t kMaxJsonDepth = 64;

struct Article {
  std::string id;
  std::string category;
  bool breaking = false;
  // The whole published object re-serialized compactly (key order kept, no raw newlines),
  // so it can be embedded in a newline-delimited server frame unchanged in meaning.
  std::string json;
};

enum class ArticleError {
  none,
  too_large,
  not_json,        // also: invalid UTF-8, trailing garbage
  too_deep,        // nesting beyond kMaxJsonDepth
  not_object,
  bad_id,          // missing, not a string, empty or longer than kMaxIdLength
  bad_category,    // missing, not a string, or not a slug
  bad_title,       // missing, not a string, or empty
  bad_breaking,    // present but not a bool
};

// Stable snake_case label, used as a metric label and in logs ("not_json", "bad_id", ...).
std::string_view to_string(ArticleError error);

struct ArticleParseResult {
  ArticleError error = ArticleError::none;
  std::string detail;  // human-readable reason when error != none
  Article article;     // valid only when error == none
  bool ok() const { return error == ArticleError::none; }
};

// Never throws on bad input.
ArticleParseResult parse_article(std::string_view payload, std::size_t max_bytes);

}  // namespace newspush::protocol

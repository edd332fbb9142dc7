#pragma once
// Commands a client sends: one JSON object per text frame.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace newspush::protocol {

// A resume cursor as a client sends it back.
inline constexpr std::size_t kMaxSinceLength = 128;

// Either list may be empty, not both.
struct Subscribe {
  std::vector<std::string> categories;  // validated slugs or "*", duplicates removed, order kept
  std::optional<std::string> since;     // resume cursor (lossless delivery); absent in v1 clients
  std::vector<std::string> trending;    // extra trending lists wanted ("*": the overall list)
};
struct Unsubscribe {
  std::vector<std::string> categories;
  std::vector<std::string> trending;
};
struct Ping {};
// A reader opened an article: feeds the trending rankings. Never answered.
struct View {
  std::string article;  // 1..kMaxIdLength bytes
};

// A connection token (JWT) for the restricted categories, or a fresh one before the current
// one expires.
inline constexpr std::size_t kMaxTokenLength = 8 * 1024;
struct Auth {
  std::string token;  // 1..kMaxTokenLength bytes, checked by the server
};

using Command = std::variant<Subscribe, Unsubscribe, Ping, View, Auth>;

// code is one of: "invalid_json", "not_object", "missing_op", "unknown_op",
// "bad_categories" (missing/not an array/empty), "bad_category" (an entry not a slug),
// "too_many_categories", "bad_since", "bad_trending" ("trending" not an array, or an entry not a
// slug nor "*"), "bad_article" (a view's "article" not a string of 1..128 bytes), "bad_token"
// (an auth's "token" not a string of 1..kMaxTokenLength bytes).
struct CommandError {
  std::string code;
  std::string message;
};

using CommandParseResult = std::variant<Command, CommandError>;

// Never throws on bad input. max_categories bounds the list in one command.
CommandParseResult parse_command(std::string_view text, std::size_t max_categories);

}  // namespace newspush::protocol

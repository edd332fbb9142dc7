#pragma once
// Commands a client sends: one JSON object per text frame.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace newspush::protocol {

struct Subscribe {
  std::vector<std::string> categories;  // validated slugs or "*", duplicates removed, order kept
  std::optional<std::string> since;     // resume cursor (lossless delivery); absent in v1 clients
};
struct Unsubscribe {
  std::vector<std::string> categories;
};
struct Ping {};

using Command = std::variant<Subscribe, Unsubscribe, Ping>;

// code is one of: "invalid_json", "not_object", "missing_op", "unknown_op",
// "bad_categories" (missing/not an array/empty), "bad_category" (an entry not a slug),
// "too_many_categories", "bad_since".
struct CommandError {
  std::string code;
  std::string message;
};

using CommandParseResult = std::variant<Command, CommandError>;

// Never throws on bad input. max_categories bounds the list in one command.
CommandParseResult parse_command(std::string_view text, std::size_t max_categories);

}  // namespace newspush::protocol

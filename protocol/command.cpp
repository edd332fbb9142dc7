#include "protocol/command.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "protocol/bounded_json.hpp"
#include "protocol/article.hpp"
#include "protocol/category.hpp"

namespace newspush::protocol {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxEchoedBytes = 64;
constexpr std::size_t kMaxSinceLength = 128;

CommandError fail(std::string code, std::string message) {
  return CommandError{std::move(code), std::move(message)};
}

// Client text is echoed back inside error messages: bound it, and cut on a UTF-8 boundary so the
// error message stays valid UTF-8.
std::string quote_truncated(std::string_view text) {
  std::string quoted = "\"";
  if (text.size() <= kMaxEchoedBytes) {
    quoted += text;
  } else {
    std::size_t cut = kMaxEchoedBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    quoted += text.substr(0, cut);
    quoted += "...";
  }
  return quoted + "\"";
}

// Fills categories, or returns the error to send back.
std::optional<CommandError> read_categories(const Json& command, std::size_t max_categories,
                                            std::vector<std::string>& categories) {
  auto list = command.find("categories");
  if (list == command.end() || !list->is_array() || list->empty()) {
    return fail("bad_categories", "\"categories\" must be a non-empty array of strings");
  }
  // Checked before looking at entries so an oversized list costs nothing more.
  if (list->size() > max_categories) {
    return fail("too_many_categories",
                "at most " + std::to_string(max_categories) + " categories per command");
  }
  for (const Json& entry : *list) {
    if (!entry.is_string()) return fail("bad_category", "each category must be a string");
    const auto& name = entry.get_ref<const std::string&>();
    if (name != kAllCategories && !is_valid_category(name)) {
      return fail("bad_category",
                  "category " + quote_truncated(name) + " must match [a-z0-9-]{1,32} or be \"*\"");
    }
    if (std::find(categories.begin(), categories.end(), name) == categories.end()) {
      categories.push_back(name);
    }
  }
  return std::nullopt;
}

}  // namespace

CommandParseResult parse_command(std::string_view text, std::size_t max_categories) {
  bool too_deep = false;
  Json command = parse_bounded<Json>(text, too_deep);
  if (too_deep) return fail("invalid_json", "nesting too deep");
  if (command.is_discarded()) return fail("invalid_json", "frame is not valid JSON");
  if (!command.is_object()) return fail("not_object", "frame must hold one JSON object");

  auto op = command.find("op");
  if (op == command.end() || !op->is_string()) return fail("missing_op", "\"op\" must be a string");
  const auto& name = op->get_ref<const std::string&>();

  if (name == "ping") return Command{Ping{}};
  if (name == "unsubscribe") {
    Unsubscribe unsubscribe;
    if (auto error = read_categories(command, max_categories, unsubscribe.categories)) {
      return *error;
    }
    return Command{std::move(unsubscribe)};
  }
  if (name == "subscribe") {
    Subscribe subscribe;
    if (auto error = read_categories(command, max_categories, subscribe.categories)) return *error;
    if (auto since = command.find("since"); since != command.end()) {
      if (!since->is_string() || since->get_ref<const std::string&>().empty() ||
          since->get_ref<const std::string&>().size() > kMaxSinceLength) {
        return fail("bad_since", "\"since\" must be a string of 1 to " +
                                     std::to_string(kMaxSinceLength) + " bytes");
      }
      subscribe.since = since->get<std::string>();
    }
    return Command{std::move(subscribe)};
  }
  return fail("unknown_op",
              "unknown op " + quote_truncated(name) + " (expected subscribe, unsubscribe or ping)");
}

}  // namespace newspush::protocol

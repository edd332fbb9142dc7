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

// Fills `out` from the array `field` (absent: left empty), or returns the error to send back.
// `bad_list` and `bad_entry` are the error codes for that field.
std::optional<CommandError> read_category_list(const Json& command, const char* field,
                                               const char* bad_list, const char* bad_entry,
                                               std::size_t max_categories,
                                               std::vector<std::string>& out) {
  auto list = command.find(field);
  if (list == command.end()) return std::nullopt;
  if (!list->is_array()) {
    return fail(bad_list, "\"" + std::string(field) + "\" must be an array of strings");
  }
  // Checked before looking at entries so an oversized list costs nothing more.
  if (list->size() > max_categories) {
    return fail("too_many_categories",
                "at most " + std::to_string(max_categories) + " categories per command");
  }
  for (const Json& entry : *list) {
    if (!entry.is_string()) return fail(bad_entry, "each category must be a string");
    const auto& name = entry.get_ref<const std::string&>();
    if (name != kAllCategories && !is_valid_category(name)) {
      return fail(bad_entry,
                  "category " + quote_truncated(name) + " must match [a-z0-9-]{1,32} or be \"*\"");
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return std::nullopt;
}

// "categories" and "trending" of a subscribe or unsubscribe: at least one must name something.
std::optional<CommandError> read_lists(const Json& command, std::size_t max_categories,
                                       std::vector<std::string>& categories,
                                       std::vector<std::string>& trending) {
  if (auto error = read_category_list(command, "categories", "bad_categories", "bad_category",
                                      max_categories, categories))
    return error;
  if (auto error = read_category_list(command, "trending", "bad_trending", "bad_trending",
                                      max_categories, trending))
    return error;
  if (categories.empty() && trending.empty()) {
    return fail("bad_categories",
                "\"categories\" must be a non-empty array of strings (it may be empty only when "
                "\"trending\" is not)");
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
  if (name == "auth") {
    auto token = command.find("token");
    if (token == command.end() || !token->is_string() ||
        token->get_ref<const std::string&>().empty() ||
        token->get_ref<const std::string&>().size() > kMaxTokenLength) {
      return fail("bad_token", "\"token\" must be a string of 1 to " +
                                   std::to_string(kMaxTokenLength) + " bytes");
    }
    return Command{Auth{token->get<std::string>()}};
  }
  if (name == "view") {
    auto article = command.find("article");
    if (article == command.end() || !article->is_string() ||
        article->get_ref<const std::string&>().empty() ||
        article->get_ref<const std::string&>().size() > kMaxIdLength) {
      return fail("bad_article", "\"article\" must be an article id, a string of 1 to " +
                                     std::to_string(kMaxIdLength) + " bytes");
    }
    return Command{View{article->get<std::string>()}};
  }
  if (name == "unsubscribe") {
    Unsubscribe unsubscribe;
    if (auto error =
            read_lists(command, max_categories, unsubscribe.categories, unsubscribe.trending))
      return *error;
    return Command{std::move(unsubscribe)};
  }
  if (name == "subscribe") {
    Subscribe subscribe;
    if (auto error = read_lists(command, max_categories, subscribe.categories, subscribe.trending))
      return *error;
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
              "unknown op " + quote_truncated(name) +
                             " (expected subscribe, unsubscribe, view, auth or ping)");
}

}  // namespace newspush::protocol

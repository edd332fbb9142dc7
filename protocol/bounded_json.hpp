#pragma once
// Parsing untrusted JSON with a nesting bound, for every parser of JSON from outside (protocol/
// and the server's). The parser itself is iterative, but dump() and destruction recurse once per
// level: a depth bound is what keeps a hostile payload from overflowing the stack later.
#include <nlohmann/json.hpp>
#include <string_view>

#include "protocol/article.hpp"

namespace newspush::protocol {

// Never throws; returns a discarded value on a syntax error. too_deep is set when a container
// opens at depth kMaxJsonDepth or more (its subtree is dropped instead of built).
template <typename Json>
Json parse_bounded(std::string_view text, bool& too_deep) {
  // nlohmann/json reads a NUL byte as the end of the input, so "{...}\0<any bytes>" would pass
  // whole, invalid UTF-8 included. A NUL is never part of JSON text (not even raw in a string).
  if (text.find('\0') != std::string_view::npos) return Json(Json::value_t::discarded);
  auto within_depth = [&too_deep](int depth, typename Json::parse_event_t event, Json&) {
    bool opens = event == Json::parse_event_t::object_start ||
                 event == Json::parse_event_t::array_start;
    // depth counts the containers already open around this one.
    if (opens && static_cast<std::size_t>(depth) >= kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  return Json::parse(text, within_depth, /*allow_exceptions=*/false);
}

}  // namespace newspush::protocol

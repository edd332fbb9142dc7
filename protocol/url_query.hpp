#pragma once
// The pieces of a URL a request carries: percent-escapes and query parameters (RFC 3986), read
// the same way wherever a path or a query is taken apart.
#include <optional>
#include <string>
#include <string_view>

namespace newspush::protocol {

// Decodes %XX escapes; nullopt for a malformed one. In a query, '+' stands for a space.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

// Calls f(name, value) for each name=value pair of a query string, in order, both still encoded
// (a pair without '=' has an empty value). Stops at the first call that returns true.
template <typename F>
void for_each_query_param(std::string_view query, F&& f) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (f(name, value)) return;
  }
}

}  // namespace newspush::protocol

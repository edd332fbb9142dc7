#pragma once
// Which web pages may open a WebSocket here (--allowed-origin). Browsers send the page's Origin
// with every upgrade and let any page connect anywhere; without this check any site could make
// its visitors' browsers connect and send views. Clients outside a browser send no Origin and
// are not concerned: the check protects readers' browsers, it authenticates nobody.
#include <string>
#include <string_view>
#include <vector>

namespace newspush {

class OriginPolicy {
 public:
  // Patterns: an exact origin ("https://www.example.org", "http://127.0.0.1:8080") or a wildcard
  // for every subdomain ("https://*.example.org": a.example.org, a.b.example.org, not
  // example.org itself). Returns an error message for a malformed pattern, empty when added.
  std::string add(std::string_view pattern);

  // No pattern: every origin is allowed (the default). A request without Origin is allowed.
  bool allows(std::string_view origin) const;
  bool restricted() const { return !exact_.empty() || !wildcard_.empty(); }

 private:
  struct Wildcard {
    std::string scheme_prefix;  // "https://"
    std::string suffix;         // ".example.org" (with any ":port")
  };
  std::vector<std::string> exact_;  // lower case
  std::vector<Wildcard> wildcard_;
};

}  // namespace newspush

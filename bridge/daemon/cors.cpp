#include "bridge/daemon/cors.hpp"

#include <algorithm>
#include <memory>

namespace newspush::bridge {

std::string check_cors_origin(const std::string& origin) {
  std::string_view rest = origin;
  if (rest.starts_with("https://"))
    rest.remove_prefix(8);
  else if (rest.starts_with("http://"))
    rest.remove_prefix(7);
  else
    return "expected http://HOST[:PORT] or https://HOST[:PORT]";
  if (rest.empty() || rest.find_first_of("/?#@ *") != std::string_view::npos)
    return "expected an origin: scheme://HOST[:PORT], no path";
  return {};
}

ApiHandler with_cors(std::vector<std::string> origins, ApiHandler handler) {
  if (origins.empty()) return handler;
  auto allowed = std::make_shared<const std::vector<std::string>>(std::move(origins));
  return [allowed, handler = std::move(handler)](ApiRequest request,
                                                 std::function<void(ApiResponse)> respond) {
    if (request.origin.empty() ||
        std::find(allowed->begin(), allowed->end(), request.origin) == allowed->end())
      return handler(std::move(request), std::move(respond));
    std::vector<std::pair<std::string, std::string>> cors{
        {"Access-Control-Allow-Origin", request.origin}, {"Vary", "Origin"}};
    if (request.method == "OPTIONS") {
      ApiResponse preflight{204, "text/plain", ""};
      preflight.headers = std::move(cors);
      preflight.headers.emplace_back("Access-Control-Allow-Methods", "GET, PUT, DELETE");
      preflight.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
      preflight.headers.emplace_back("Access-Control-Max-Age", "600");
      return respond(std::move(preflight));
    }
    handler(std::move(request), [cors = std::move(cors), respond](ApiResponse response) {
      response.headers.insert(response.headers.end(), cors.begin(), cors.end());
      respond(std::move(response));
    });
  };
}

}  // namespace newspush::bridge

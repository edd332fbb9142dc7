#pragma once
// Cross-origin access to the bridge's HTTP routes for the pages named by --cors-origin (the demo
// page registers its browser's push subscription itself; a real site's backend would, and needs
// none of this). A preflight (OPTIONS) from such an origin is answered here, 204, before any key
// is checked: the browser sends no Authorization with it. Every other answer to such an origin
// carries Access-Control-Allow-Origin; requests from other origins, or none, pass unchanged.
#include <string>
#include <vector>

#include "bridge/daemon/http_server.hpp"

namespace newspush::bridge {

// "" when `origin` is one --cors-origin accepts (scheme://host[:port], http or https, no path),
// else why not.
std::string check_cors_origin(const std::string& origin);

// `handler` with the CORS answers for `origins`; `handler` itself when there are none.
ApiHandler with_cors(std::vector<std::string> origins, ApiHandler handler);

}  // namespace newspush::bridge

#pragma once
// X-Request-Id: the id that ties an HTTP request's log lines to what the client, or the balancer
// in front, recorded. A sane incoming one is kept (the balancer's id then spans both logs); else
// this process makes one.
#include <string>
#include <string_view>

namespace newspush {

inline constexpr std::size_t kMaxRequestIdLength = 64;

// 1 to kMaxRequestIdLength characters among A-Z a-z 0-9 and - _ . : + / = @ (a UUID, a hex or
// base64 id, nginx's $request_id, a trace header's value): nothing that could break a log line or
// a response header.
bool is_acceptable_request_id(std::string_view id);

// "<8 hex digits random per process>-<counter in hex>": unique within the process, and across
// nodes and restarts as much as 32 random bits allow; short enough to stay in a string's inline
// buffer. Thread-safe.
std::string new_request_id();

// The incoming id if acceptable, else a new one.
std::string request_id_for(std::string_view incoming);

}  // namespace newspush

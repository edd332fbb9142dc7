#pragma once
// Server-Sent Events (GET /sse): the request's query and the event framing. The data of every
// event is the WebSocket message itself, so one parser serves both transports.
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/command.hpp"

namespace newspush::protocol {

// A cursor a reader may send back (?since=, Last-Event-ID): 1 to kMaxSinceLength bytes, no
// control character (it is written back as an event's "id:" line).
bool is_event_id(std::string_view id);

// ?categories=sports,politique&trending=*&since=CURSOR: comma-separated lists, percent-encoding
// accepted. The same rules and error codes as a subscribe command (bad_categories, bad_category,
// too_many_categories, bad_trending, bad_since); unknown parameters are ignored.
std::variant<Subscribe, CommandError> parse_stream_query(std::string_view query,
                                                         std::size_t max_categories);

// "event: <type>\nid: <id>\ndata: <data>\n\n", the id line only when `id` is not empty. `data`
// must hold no newline (server messages never do).
std::string sse_event(std::string_view type, std::string_view id, std::string_view data);

// The type of a server message ("article", "reset", ...): its "type" field, which the serializer
// always writes first.
std::string_view message_type(std::string_view message);

}  // namespace newspush::protocol

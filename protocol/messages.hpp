#pragma once
// Server -> client messages. Each returns one compact JSON object with no raw newline, so a
// server frame can hold several of them separated by "\n".
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/article.hpp"

namespace newspush::protocol {

inline constexpr int kProtocolVersion = 1;

struct WelcomeInfo {
  std::string server;  // e.g. "newspushd/0.1.0"
  std::size_t max_frame_bytes = 0;
  std::size_t max_categories = 0;
};

std::string welcome_message(const WelcomeInfo& info);
// categories: the connection's full current set, sorted. cursor: the connection's position in
// the history (omitted when empty, i.e. before the server knows the history). trending: the
// explicitly requested trending lists, sorted (omitted when empty).
std::string subscribed_message(const std::vector<std::string>& categories,
                               std::string_view cursor = {},
                               const std::vector<std::string>& trending = {});
std::string pong_message();
std::string error_message(std::string_view code, std::string_view message);
// {"type":"article","cursor":...,"category":...,"breaking":...,"update":true,"article":<json>}
// cursor is omitted when empty (articles published with a bare PUBLISH have none); update is
// present only for corrections.
std::string article_event(const Article& article, std::string_view cursor = {},
                          bool update = false);
// {"type":"retract","cursor":...,"id":...,"category":...,"breaking":...}
std::string retract_event(std::string_view cursor, std::string_view id, std::string_view category,
                          bool breaking);
// After a replay: {"type":"resumed","replayed":N,"cursor":...}
std::string resumed_message(std::size_t replayed, std::string_view cursor);
// The history cannot continue from the client's cursor: {"type":"reset","reason":...,"cursor":...}
std::string reset_message(std::string_view reason, std::string_view cursor);

// Subscriber-only categories (connection tokens).
// {"type":"authenticated","exp":<unix s>}: the token of an auth command (or ?token=) was accepted.
std::string authenticated_message(std::int64_t expires);
// {"type":"token_expiring","exp":<unix s>}: send a fresh token with an auth command before then.
std::string token_expiring_message(std::int64_t expires);
// {"type":"error","code":"forbidden","category":...}: a restricted category this connection's
// token does not allow (the rest of the command applied).
std::string forbidden_message(std::string_view category, bool trending);
// {"type":"error","code":"invalid_token","reason":...}: the token was refused.
std::string invalid_token_message(std::string_view reason);
// {"type":"error","code":"token_expired","categories":[...],"trending":[...]}: the token lapsed;
// these restricted subscriptions stopped.
std::string token_expired_message(const std::vector<std::string>& categories,
                                  const std::vector<std::string>& trending);

// WebSocket close codes used by newspushd (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr int going_away = 1001;        // server shutting down
inline constexpr int unsupported_data = 1003;  // binary frame
inline constexpr int invalid_payload = 1007;   // invalid UTF-8 in a text frame
inline constexpr int policy_violation = 1008;  // too many errors
inline constexpr int message_too_big = 1009;   // frame over the limit
inline constexpr int try_again_later = 1013;   // slow consumer
inline constexpr int token_expired = 4001;     // only restricted subscriptions, token lapsed
}  // namespace close_code

// The last message of a Server-Sent Events stream the server ends: {"type":"close","code":...},
// with the code a WebSocket close reason would carry.
std::string close_message(std::string_view code);

// Short JSON close reasons (a close reason must fit in 123 bytes): {"code":"slow_consumer"}.
std::string close_reason(std::string_view code);

}  // namespace newspush::protocol

#pragma once
// The publishing HTTP API (/api/v1/articles): request checks that need no I/O, kept apart from
// the HTTP session so they read as the API's rules.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace newspush::api {

struct Error {
  int status;
  std::string code;
  std::string message;
  std::string field;  // the offending article field, when there is one
};

std::string error_body(const Error& error);

// The publish keys as SHA-256 digests, hashed once at start-up. Comparing digests of fixed size
// rather than the keys themselves leaks neither a key's bytes nor its length through timing.
class PublishKeys {
 public:
  PublishKeys() = default;
  explicit PublishKeys(const std::vector<std::string>& keys);

  bool empty() const { return digests_.empty(); }
  // Compares against every key, whatever matched first: the time depends only on the key count.
  bool contains(std::string_view key) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest digest(std::string_view key);
  std::vector<Digest> digests_;
};

// What follows "Bearer" (any case, then spaces or tabs) in an Authorization header; nullopt for
// another scheme or none.
std::optional<std::string_view> bearer_credentials(std::string_view header);

// "Authorization: Bearer <key>", the scheme in any case (RFC 7235), spaces before the key allowed.
// No header or another scheme: 401. No configured key: every request is refused (403), never open
// by default. A key that is not configured: 403.
std::optional<Error> check_authorization(std::string_view authorization_header,
                                         const PublishKeys& keys);

struct RecentQuery {
  std::string category = "*";
  std::size_t limit = 20;
};
// ?category=sports&limit=20
std::optional<Error> parse_recent_query(std::string_view query, RecentQuery& out);

// ?category=sports (default "*").
std::optional<Error> parse_trending_query(std::string_view query, std::string& category);

// POST /api/v1/views: [{"article":"<id>"}, ...], 1..kMaxViewBatch entries; an id may repeat
// (each entry is one view).
inline constexpr std::size_t kMaxViewBatch = 1000;
std::optional<Error> parse_view_batch(std::string_view body, std::vector<std::string>& ids);

// What a request may send after its header, decided from the header alone (method and path),
// before any of the body is read: the write routes take a body and need a publish key; every
// other route takes none.
struct BodyRule {
  std::size_t max_body = 0;
  bool needs_key = false;
};
// A view batch at its largest: kMaxViewBatch entries of an id of up to 128 bytes, with room for
// the JSON around each.
inline constexpr std::size_t kMaxViewBatchBytes = 256 * 1024;
BodyRule body_rule(std::string_view method, std::string_view path, std::size_t max_article);

// Maps "ERR newspush: bad_category: ..." from the functions library to an API error.
Error error_from_redis(std::string_view redis_error);

}  // namespace newspush::api

#include "server/net/api.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "protocol/article.hpp"
#include "protocol/bounded_json.hpp"
#include "protocol/category.hpp"
#include "protocol/url_query.hpp"

namespace newspush::api {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// Calls f(name, value) for each name=value of a query string; stops at the first error.
template <typename F>
std::optional<Error> for_each_param(std::string_view query, F&& f) {
  std::optional<Error> error;
  protocol::for_each_query_param(query, [&](std::string_view name, std::string_view value) {
    error = f(name, value);
    return error.has_value();
  });
  return error;
}

std::optional<Error> read_category(std::string_view value, std::string& out) {
  if (value != protocol::kAllCategories && !protocol::is_valid_category(value))
    return Error{400, "bad_category", "category must match [a-z0-9-]{1,32} or be *", {}};
  out = std::string(value);
  return std::nullopt;
}

}  // namespace

std::string error_body(const Error& error) {
  nlohmann::json body = {{"error", error.code}, {"message", error.message}};
  if (!error.field.empty()) body["field"] = error.field;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

PublishKeys::PublishKeys(const std::vector<std::string>& keys) {
  digests_.reserve(keys.size());
  for (const auto& key : keys) digests_.push_back(digest(key));
}

PublishKeys::Digest PublishKeys::digest(std::string_view key) {
  Digest out{};
  unsigned int size = 0;
  if (EVP_Digest(key.data(), key.size(), out.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != out.size())
    throw std::runtime_error("SHA-256 unavailable from OpenSSL");
  return out;
}

bool PublishKeys::contains(std::string_view key) const {
  const Digest presented = digest(key);
  int match = 0;
  for (const Digest& candidate : digests_)
    match |= CRYPTO_memcmp(presented.data(), candidate.data(), presented.size()) == 0;
  return match != 0;
}

std::optional<std::string_view> bearer_credentials(std::string_view header) {
  const std::size_t space = header.find_first_of(" \t");
  if (space == std::string_view::npos || !equals_ignoring_case(header.substr(0, space), "bearer"))
    return std::nullopt;
  std::string_view credentials = header.substr(space);
  while (!credentials.empty() && is_space(credentials.front())) credentials.remove_prefix(1);
  return credentials;
}

std::optional<Error> check_authorization(std::string_view header, const PublishKeys& keys) {
  if (keys.empty())
    return Error{403, "publishing_disabled", "no publish key is configured on this server", {}};
  auto key = bearer_credentials(header);
  if (!key) return Error{401, "unauthorized", "expected Authorization: Bearer <key>", {}};
  if (!keys.contains(*key)) return Error{403, "forbidden", "this key may not publish", {}};
  return std::nullopt;
}

BodyRule body_rule(std::string_view method, std::string_view path, std::size_t max_article) {
  constexpr std::string_view articles = "/api/v1/articles";
  if (method == "POST" && path == articles) return {max_article + 1024, true};
  if (method == "POST" && path == "/api/v1/views") return {kMaxViewBatchBytes, true};
  if (method == "DELETE" && path.starts_with(articles) && path.size() > articles.size() + 1 &&
      path[articles.size()] == '/')
    return {0, true};
  return {0, false};
}

std::optional<Error> parse_recent_query(std::string_view query, RecentQuery& out) {
  return for_each_param(query, [&out](std::string_view name,
                                      std::string_view value) -> std::optional<Error> {
    if (name == "category") return read_category(value, out.category);
    if (name == "limit") {
      std::size_t limit = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc{} || end != value.data() + value.size() || limit < 1 || limit > 200)
        return Error{400, "bad_limit", "limit must be a number from 1 to 200", {}};
      out.limit = limit;
    }
    return std::nullopt;
  });
}

std::optional<Error> parse_trending_query(std::string_view query, std::string& category) {
  category = "*";
  return for_each_param(query, [&category](std::string_view name,
                                           std::string_view value) -> std::optional<Error> {
    if (name == "category") return read_category(value, category);
    return std::nullopt;
  });
}

std::optional<Error> parse_view_batch(std::string_view body, std::vector<std::string>& ids) {
  auto bad = [](std::string message) { return Error{400, "bad_request", std::move(message), {}}; };
  bool too_deep = false;
  auto batch = protocol::parse_bounded<nlohmann::json>(body, too_deep);
  if (too_deep || batch.is_discarded()) return bad("the body is not valid JSON");
  if (!batch.is_array() || batch.empty() || batch.size() > kMaxViewBatch)
    return bad("expected an array of 1 to " + std::to_string(kMaxViewBatch) +
               " views: [{\"article\":\"<id>\"}, ...]");
  ids.clear();
  ids.reserve(batch.size());
  for (const auto& view : batch) {
    auto article = view.is_object() ? view.find("article") : view.end();
    if (!view.is_object() || article == view.end() || !article->is_string() ||
        article->get_ref<const std::string&>().empty() ||
        article->get_ref<const std::string&>().size() > protocol::kMaxIdLength)
      return bad("each view must be {\"article\":\"<id>\"} with an id of 1 to " +
                 std::to_string(protocol::kMaxIdLength) + " bytes (entry " +
                 std::to_string(ids.size()) + ")");
    ids.push_back(article->get<std::string>());
  }
  return std::nullopt;
}

Error error_from_redis(std::string_view redis_error) {
  constexpr std::string_view prefix = "ERR newspush: ";
  if (!redis_error.starts_with(prefix))
    return {503, "unavailable", "history unavailable: " + std::string(redis_error), {}};
  std::string_view rest = redis_error.substr(prefix.size());
  auto colon = rest.find(':');
  std::string code(rest.substr(0, colon));
  // The library always writes a snake_case code: anything else is no answer a client can act on
  // (and an empty "error" would reach it as such), like any other unexpected reply.
  if (code.empty() || code.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    return {503, "unavailable", "unexpected reply from the history", {}};
  std::string message(colon == std::string_view::npos ? rest : rest.substr(colon + 1));
  if (!message.empty() && message.front() == ' ') message.erase(0, 1);
  if (code == "not_found") return {404, code, message, {}};
  // Applied on the primary, not confirmed by enough replicas: the client may retry.
  if (code == "not_replicated") return {503, code, message, {}};
  std::string field = code.starts_with("bad_") ? code.substr(4) : "";
  return {400, code, message, field};
}

}  // namespace newspush::api

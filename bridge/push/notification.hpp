#pragma once
// What a phone or a browser shows for an article, taken from the published object, and the
// shortening that keeps every platform's payload within its limit.
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/article.hpp"

namespace newspush::bridge {

struct ArticleNotification {
  std::string id;
  std::string category;
  bool breaking = false;
  std::string title;  // the article's "title"
  std::string body;   // its "summary", or empty
  std::string url;    // its "url", or empty
  std::string image;  // its "image", or empty
};

// From an article protocol::parse_article accepted. Fields of the wrong type ("summary": 3) are
// left empty rather than refused: the article was already delivered to readers as it is.
// nullopt only if article.json is not the object parse_article made.
std::optional<ArticleNotification> notification_from_article(const protocol::Article& article);

enum class PayloadError {
  none,
  too_large,   // even with the text cut to nothing the payload does not fit (a huge token)
  bad_target,  // FCM: an empty or malformed token or topic
};
std::string_view to_string(PayloadError error);

// The parts a payload builder may shorten, in the order they are given up: body, image, url,
// then title.
struct NotificationText {
  std::string title;
  std::string body;
  std::string url;
  std::string image;
};

struct FittedPayload {
  PayloadError error = PayloadError::none;
  std::string json;
  bool shortened = false;
  bool ok() const { return error == PayloadError::none; }
};

// Renders the text; if the result exceeds `limit` bytes, cuts the body (at a UTF-8 character
// boundary, preferably a word's, ending with "…"), then drops the image and the url, then cuts
// the title, until it fits. Two or three renderings at most in practice.
FittedPayload fit_text(const ArticleNotification& article, std::size_t limit,
                       const std::function<std::string(const NotificationText&)>& render);

// At most max_bytes of text, cut at a character boundary (never inside a UTF-8 sequence) and,
// when a space is near the cut, at the word before it; "…" appended when something was cut and
// that still fits.
std::string shorten_utf8(std::string_view text, std::size_t max_bytes);

// Compact, UTF-8 kept as is (accents arrive as accents, not \u escapes).
std::string dump_json(const nlohmann::ordered_json& value);

// `id` itself when it is 1 to max_bytes printable ASCII bytes without spaces; otherwise "~" and
// the base64url SHA-256 of it (44 bytes), cut to max_bytes. The same id always gives the same
// value, so a retry replaces its notification rather than adding one.
std::string header_safe_id(std::string_view id, std::size_t max_bytes);

// base64url(SHA-256(text)), 43 characters.
std::string sha256_base64url(std::string_view text);

}  // namespace newspush::bridge

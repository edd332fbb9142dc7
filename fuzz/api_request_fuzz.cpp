// The HTTP API's request checks (server/net/api.*): the first byte picks the check, the rest is
// its input, so the seeds stay readable:
//   q<query of GET /api/v1/articles>     t<query of GET /api/v1/trending>
//   v<body of POST /api/v1/views>        a<Authorization header>
//   b<METHOD> <path>  (the body rule)    r<Redis error reply of the functions library>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_json.hpp"
#include "protocol/article.hpp"
#include "protocol/category.hpp"
#include "server/net/api.hpp"

using namespace newspush;

namespace {

constexpr std::string_view kKey = "clé-de-test";

void check_error(const api::Error& error) {
  FUZZ_CHECK(error.status >= 400 && error.status <= 599);
  FUZZ_CHECK(!error.code.empty());
  auto body = fuzz::parse_message(api::error_body(error));
  FUZZ_CHECK(body.contains("error") && body.contains("message"));
}

bool valid_category_or_all(const std::string& category) {
  return category == protocol::kAllCategories || protocol::is_valid_category(category);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char which = static_cast<char>(data[0]);
  const std::string_view input = fuzz::as_text(data + 1, size - 1);
  switch (which) {
    case 'q': {
      api::RecentQuery query;
      if (auto error = api::parse_recent_query(input, query)) {
        FUZZ_CHECK(error->status == 400);
        check_error(*error);
      } else {
        FUZZ_CHECK(valid_category_or_all(query.category));
        FUZZ_CHECK(query.limit >= 1 && query.limit <= 200);
      }
      break;
    }
    case 't': {
      std::string category;
      if (auto error = api::parse_trending_query(input, category)) {
        FUZZ_CHECK(error->status == 400);
        check_error(*error);
      } else {
        FUZZ_CHECK(valid_category_or_all(category));
      }
      break;
    }
    case 'v': {
      std::vector<std::string> ids;
      if (auto error = api::parse_view_batch(input, ids)) {
        FUZZ_CHECK(error->status == 400 && error->code == "bad_request");
        check_error(*error);
      } else {
        FUZZ_CHECK(!ids.empty() && ids.size() <= api::kMaxViewBatch);
        for (const auto& id : ids) FUZZ_CHECK(!id.empty() && id.size() <= protocol::kMaxIdLength);
      }
      break;
    }
    case 'a': {
      static const api::PublishKeys keys({std::string(kKey)});
      static const api::PublishKeys none;
      auto error = api::check_authorization(input, keys);
      if (error) {
        FUZZ_CHECK(error->status == 401 || error->status == 403);
        check_error(*error);
      } else {
        // Accepted only when the header really ends with the key after "Bearer" and blanks.
        FUZZ_CHECK(input.size() > kKey.size() && input.ends_with(kKey));
        std::string_view scheme = input.substr(0, input.size() - kKey.size());
        while (!scheme.empty() && (scheme.back() == ' ' || scheme.back() == '\t'))
          scheme.remove_suffix(1);
        FUZZ_CHECK(scheme.size() == 6 && scheme.find_first_not_of("bBeEaArR") == std::string_view::npos);
      }
      auto closed = api::check_authorization(input, none);
      FUZZ_CHECK(closed && closed->status == 403);
      break;
    }
    case 'b': {
      const auto space = input.find(' ');
      const std::string_view method = input.substr(0, space);
      const std::string_view path =
          space == std::string_view::npos ? std::string_view() : input.substr(space + 1);
      const std::size_t max_article = 256 * 1024;
      const api::BodyRule rule = api::body_rule(method, path, max_article);
      // Nothing but a keyed write route may send a body, and only those routes ask for a key.
      if (rule.max_body > 0) FUZZ_CHECK(rule.needs_key && method == "POST");
      if (rule.needs_key) {
        FUZZ_CHECK(method == "POST" || method == "DELETE");
        FUZZ_CHECK(path.starts_with("/api/v1/"));
      }
      FUZZ_CHECK(rule.max_body <= max_article + 1024 || rule.max_body == api::kMaxViewBatchBytes);
      break;
    }
    case 'r': {
      api::Error error = api::error_from_redis(input);
      FUZZ_CHECK(error.status == 400 || error.status == 404 || error.status == 503);
      check_error(error);
      break;
    }
    default:
      break;
  }
  return 0;
}

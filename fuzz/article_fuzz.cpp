// Articles as the newsroom publishes them on Redis (protocol::parse_article), and the frame a
// bare PUBLISH turns into (build_live_article).
#include <cstdint>

#include "fuzz/fuzz_json.hpp"
#include "protocol/article.hpp"
#include "protocol/category.hpp"
#include "protocol/messages.hpp"
#include "server/history/event_factory.hpp"

using namespace newspush;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxArticle = 64 * 1024;
  const std::string_view text = fuzz::as_text(data, size);
  auto parsed = protocol::parse_article(text, kMaxArticle);
  auto live = build_live_article(text, kMaxArticle);
  FUZZ_CHECK(live.error == parsed.error);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.detail.empty());
    FUZZ_CHECK(protocol::to_string(parsed.error) != "unknown");
    FUZZ_CHECK(live.event == nullptr);
    return 0;
  }
  const protocol::Article& article = parsed.article;
  FUZZ_CHECK(!article.id.empty() && article.id.size() <= protocol::kMaxIdLength);
  FUZZ_CHECK(protocol::is_valid_category(article.category));

  // The re-serialized object is one line of UTF-8 JSON holding what was validated.
  auto json = fuzz::parse_message(article.json);
  FUZZ_CHECK(json["id"] == article.id);
  FUZZ_CHECK(json["category"] == article.category);
  FUZZ_CHECK(json.value("breaking", false) == article.breaking);

  // Validating it again changes nothing (the history stores this form, replays re-validate it).
  auto again = protocol::parse_article(article.json, 4 * kMaxArticle);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.article.json == article.json);
  FUZZ_CHECK(again.article.id == article.id && again.article.category == article.category &&
             again.article.breaking == article.breaking);

  // The frames clients get: the article spliced in unchanged.
  FUZZ_CHECK(live.event != nullptr);
  auto event = fuzz::parse_message(std::string(live.event->message()));
  FUZZ_CHECK(event["type"] == "article");
  FUZZ_CHECK(!event.contains("cursor"));
  FUZZ_CHECK(event["category"] == article.category && event["breaking"] == article.breaking);
  FUZZ_CHECK(event["article"] == json);
  auto update = fuzz::parse_message(protocol::article_event(article, "e:1-0", true));
  FUZZ_CHECK(update["cursor"] == "e:1-0" && update["update"] == true);
  return 0;
}

#include "loadtest/article_wire.hpp"

#include <algorithm>
#include <charconv>

namespace newspush::loadtest {
namespace {

template <typename Int>
std::optional<Int> number_after(std::string_view line, std::string_view key) {
  const auto at = line.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = line.data() + at + key.size();
  Int value{};
  auto [end, ec] = std::from_chars(begin, line.data() + line.size(), value);
  if (ec != std::errc{} || end == begin) return std::nullopt;
  return value;
}

}  // namespace

std::string make_article(const ArticleMarks& marks, unsigned category, unsigned bytes) {
  const bool breaking = marks.stream == kBreakingStream;
  const std::string_view slug = kCategories[category];
  std::string json;
  json.reserve(bytes + 64);
  json += "{\"id\":\"lt-";
  json += std::to_string(marks.stream) + "-" + std::to_string(marks.seq);
  json += "\",\"category\":\"";
  json += slug;
  json += "\",\"title\":\"Essai de charge n\\u00b0 " + std::to_string(marks.seq) + " (";
  json += slug;
  json += ")\",\"breaking\":";
  json += breaking ? "true" : "false";
  json += ",\"lt_stream\":" + std::to_string(marks.stream);
  json += ",\"lt_seq\":" + std::to_string(marks.seq);
  json += ",\"lt_sent_ns\":" + std::to_string(marks.sent_ns);
  json += ",\"summary\":\"";
  constexpr std::string_view filler = "Les lecteurs recoivent cet article en temps reel. ";
  const std::size_t closing = 2;  // "}
  while (json.size() + closing < bytes) {
    json.append(filler.substr(0, std::min(filler.size(), bytes - closing - json.size())));
  }
  json += "\"}";
  return json;
}

LineKind kind_of(std::string_view line) {
  if (line.starts_with("{\"type\":\"article\"")) return LineKind::article;
  if (line.starts_with("{\"type\":\"subscribed\"")) return LineKind::subscribed;
  return LineKind::other;
}

std::optional<ArticleMarks> read_marks(std::string_view line) {
  const auto stream = number_after<unsigned>(line, "\"lt_stream\":");
  if (!stream || *stream >= kStreams) return std::nullopt;
  // The marks are near the start of the article: search only after lt_stream.
  line = line.substr(line.find("\"lt_stream\":"));
  const auto seq = number_after<std::uint64_t>(line, "\"lt_seq\":");
  const auto sent = number_after<std::int64_t>(line, "\"lt_sent_ns\":");
  if (!seq || !sent) return std::nullopt;
  return ArticleMarks{*stream, *seq, *sent};
}

}  // namespace newspush::loadtest

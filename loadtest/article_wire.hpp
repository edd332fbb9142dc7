#pragma once
// The articles the load generator publishes and how a client reads its marks back out of a server
// line without a full JSON parse (a full parse per delivery would make the generator the
// bottleneck).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace newspush::loadtest {

inline constexpr std::array<std::string_view, 8> kCategories = {
    "politique", "societe",       "economie", "sports",
    "culture",   "international", "sante",    "technologie"};

// One sequence per category, plus one for breaking articles (which go to every client).
inline constexpr unsigned kBreakingStream = kCategories.size();
inline constexpr unsigned kStreams = kCategories.size() + 1;

// A stream's channel name where the server has one per stream (Nchan): the slug, or "breaking".
constexpr std::string_view stream_name(unsigned stream) {
  return stream < kCategories.size() ? kCategories[stream] : std::string_view("breaking");
}

struct ArticleMarks {
  unsigned stream = 0;       // category index, or kBreakingStream
  std::uint64_t seq = 0;     // per stream, from 0
  std::int64_t sent_ns = 0;  // steady_clock at publish, in this process
};

// Valid JSON, id/category/title as the protocol requires, marks first, padded to about `bytes`.
std::string make_article(const ArticleMarks& marks, unsigned category, unsigned bytes);

enum class LineKind { article, subscribed, other };
LineKind kind_of(std::string_view server_line);
// From a server "article" line; nullopt when the marks are missing (not one of ours).
std::optional<ArticleMarks> read_marks(std::string_view server_line);

}  // namespace newspush::loadtest

#include "server/trending/tick_reply.hpp"

#include <charconv>
#include <cmath>

namespace newspush::trending {

namespace {

using redis::Reply;

// Reads the flat array element by element; any mismatch makes the whole reply invalid.
class Cursor {
 public:
  explicit Cursor(const std::vector<Reply>& elements) : elements_(elements) {}

  bool text(std::string& out) {
    if (index_ >= elements_.size()) return false;
    const Reply& r = elements_[index_++];
    if (r.type == Reply::Type::integer) {
      out = std::to_string(r.integer);
      return true;
    }
    if (r.type != Reply::Type::string && r.type != Reply::Type::status) return false;
    out = r.text;
    return true;
  }

  template <typename Integer>
  bool integer(Integer& out) {
    std::string t;
    if (!text(t)) return false;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc() && end == t.data() + t.size();
  }

  bool number(double& out) {
    std::string t;
    if (!text(t)) return false;
    char* end = nullptr;
    out = std::strtod(t.c_str(), &end);
    return !t.empty() && end == t.c_str() + t.size() && std::isfinite(out);
  }

 private:
  const std::vector<Reply>& elements_;
  std::size_t index_ = 0;
};

}  // namespace

std::optional<TickReply> parse_tick_reply(const Reply& reply, std::string& error) {
  if (reply.is_error()) {
    error = reply.text;
    return std::nullopt;
  }
  if (reply.type != Reply::Type::array || reply.elements.empty()) {
    error = "newspush_trending_tick: not an array";
    return std::nullopt;
  }
  Cursor in(reply.elements);
  TickReply out;
  std::string role;
  in.text(role);
  if (role == "follower") {
    in.text(out.holder);
    return out;
  }
  error = "newspush_trending_tick: malformed leader reply";
  if (role != "leader") return std::nullopt;
  out.leader = true;
  std::string t0, half_life;
  if (!in.text(t0) || !in.text(half_life)) return std::nullopt;
  if (!t0.empty() || !half_life.empty()) {
    std::vector<Reply> base_fields{reply.elements[1], reply.elements[2]};
    Cursor base(base_fields);
    if (!base.integer(out.base.t0_ms) || !base.integer(out.base.half_life_ms) ||
        out.base.half_life_ms <= 0)
      return std::nullopt;
    out.has_base = true;
  }
  std::size_t categories = 0;
  if (!in.integer(categories)) return std::nullopt;
  for (std::size_t c = 0; c < categories; ++c) {
    StoredRanking ranking;
    std::size_t items = 0;
    if (!in.text(ranking.category) || !in.text(ranking.stored_signature) || !in.integer(items))
      return std::nullopt;
    for (std::size_t i = 0; i < items; ++i) {
      StoredEntry entry;
      if (!in.text(entry.item.id) || !in.text(entry.item.title) || !in.text(entry.item.url) ||
          !in.text(entry.item.category) || !in.number(entry.stored))
        return std::nullopt;
      ranking.entries.push_back(std::move(entry));
    }
    out.rankings.push_back(std::move(ranking));
  }
  error.clear();
  return out;
}

}  // namespace newspush::trending

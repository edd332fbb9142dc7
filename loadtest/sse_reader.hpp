#pragma once
// Reads a Server-Sent Events response by hand, incrementally: the HTTP response head, then the
// text/event-stream body as the HTML standard's EventSource parses it (lines ended by CRLF, LF or
// CR; "field: value" lines; an event dispatched at each blank line; ':' comments ignored). Bytes
// may arrive split anywhere, a line ending's CR and LF included. Header-only and free of Asio, so
// the unit tests build without the load generator. Per event: no allocation once the buffers have
// grown, one copy of the data.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace newspush::loadtest {

struct SseEvent {
  std::string_view type;  // the event: field, "message" when there was none
  std::string_view data;  // the data: lines joined by '\n'
  std::string_view id;    // the last event ID, as EventSource keeps it (carried over when absent)
};

class SseParser {
 public:
  explicit SseParser(std::size_t max_line = std::size_t{1} << 20) : max_line_(max_line) {}

  // Parses the next bytes of the body, calling on_event(const SseEvent&) for each event
  // completed by them (views valid during the call only). Returns false once a line grew past
  // max_line (a broken stream: the caller should stop); the bytes are not kept then.
  template <typename OnEvent>
  bool feed(std::string_view bytes, OnEvent&& on_event) {
    if (broken_) return false;
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    if (skip_lf_ && p < end) {  // the CR that ended the previous bytes was half of a CRLF
      if (*p == '\n') ++p;
      skip_lf_ = false;
    }
    while (p < end) {
      const char* eol = end_of_line(p, end);
      if (eol == end) {  // an unfinished line: kept until its end arrives
        if (partial_.size() + static_cast<std::size_t>(end - p) > max_line_) return fail();
        partial_.append(p, end);
        return true;
      }
      if (partial_.empty()) {
        line(std::string_view(p, static_cast<std::size_t>(eol - p)), on_event);
      } else {
        if (partial_.size() + static_cast<std::size_t>(eol - p) > max_line_) return fail();
        partial_.append(p, eol);
        line(partial_, on_event);
        partial_.clear();
      }
      p = eol + 1;
      if (*eol == '\r') {
        if (p == end)
          skip_lf_ = true;
        else if (*p == '\n')
          ++p;
      }
    }
    return true;
  }

  // A new response on the same client (a reconnect): the partial line and the event being built
  // are dropped, as EventSource does at the end of a stream; the last event ID and the reconnection
  // time are kept.
  void restart() {
    partial_.clear();
    data_.clear();
    type_.clear();
    skip_lf_ = false;
    at_start_ = true;
    broken_ = false;
  }

  const std::string& last_event_id() const { return id_; }
  std::optional<std::uint64_t> retry_ms() const { return retry_ms_; }
  std::uint64_t comments() const { return comments_; }  // heartbeats (": ping") included

 private:
  // The first CR or LF in [p, end), or end.
  static const char* end_of_line(const char* p, const char* end) {
    const auto* lf =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* limit = lf != nullptr ? lf : end;
    const auto* cr =
        static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(limit - p)));
    return cr != nullptr ? cr : limit;
  }

  bool fail() {
    broken_ = true;
    partial_.clear();
    return false;
  }

  template <typename OnEvent>
  void line(std::string_view text, OnEvent& on_event) {
    if (at_start_) {  // one byte order mark may open the stream
      at_start_ = false;
      if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    }
    if (text.empty()) return dispatch(on_event);
    if (text.front() == ':') {
      ++comments_;
      return;
    }
    const auto colon = text.find(':');
    const std::string_view field = text.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = text.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      data_.append(value);
      data_.push_back('\n');
    } else if (field == "event") {
      type_.assign(value);
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) id_.assign(value);
    } else if (field == "retry") {
      if (!value.empty() && value.size() <= 18 &&
          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::uint64_t ms = 0;
        for (char c : value) ms = ms * 10 + static_cast<std::uint64_t>(c - '0');
        retry_ms_ = ms;
      }
    }  // any other field is ignored
  }

  template <typename OnEvent>
  void dispatch(OnEvent& on_event) {
    if (data_.empty()) {  // no data: line, no event (the type is forgotten too)
      type_.clear();
      return;
    }
    data_.pop_back();  // the '\n' after the last data line
    const SseEvent event{type_.empty() ? std::string_view("message") : std::string_view(type_),
                         data_, id_};
    on_event(event);
    data_.clear();
    type_.clear();
  }

  std::size_t max_line_;
  std::string partial_;  // an unfinished line from earlier bytes
  std::string data_;     // the event being built: data lines, each followed by '\n'
  std::string type_;
  std::string id_;
  std::optional<std::uint64_t> retry_ms_;
  std::uint64_t comments_ = 0;
  bool skip_lf_ = false;  // the last bytes ended with CR: a first LF is its CRLF's
  bool at_start_ = true;
  bool broken_ = false;
};

// The head of the HTTP response to GET /sse, read from the first bytes received.
struct HttpResponseHead {
  enum class State { incomplete, malformed, complete };
  State state = State::incomplete;
  unsigned status = 0;
  bool event_stream = false;  // Content-Type: text/event-stream
  bool chunked = false;       // Transfer-Encoding: chunked (the body would need de-chunking)
  std::size_t size = 0;       // bytes of the head, blank line included: the body starts there
};

namespace sse_detail {

inline bool iequals_prefix(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

}  // namespace sse_detail

// Lines end with CRLF (a bare LF is accepted); the head ends with an empty line.
inline HttpResponseHead parse_response_head(std::string_view bytes) {
  using sse_detail::iequals_prefix;
  using sse_detail::trim;
  HttpResponseHead head;
  std::size_t at = 0;
  bool first = true;
  while (true) {
    const auto lf = bytes.find('\n', at);
    if (lf == std::string_view::npos) return head;  // incomplete
    std::string_view line = bytes.substr(at, lf - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    at = lf + 1;
    if (first) {
      first = false;
      // HTTP/1.x SP 3DIGIT [SP reason]
      if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ') {
        head.state = HttpResponseHead::State::malformed;
        return head;
      }
      for (std::size_t i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9') {
          head.state = HttpResponseHead::State::malformed;
          return head;
        }
        head.status = head.status * 10 + static_cast<unsigned>(line[i] - '0');
      }
      if (line.size() > 12 && line[12] != ' ') {
        head.state = HttpResponseHead::State::malformed;
        return head;
      }
      continue;
    }
    if (line.empty()) {
      head.state = HttpResponseHead::State::complete;
      head.size = at;
      return head;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      head.state = HttpResponseHead::State::malformed;
      return head;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (name.size() == 12 && iequals_prefix(name, "content-type")) {
      head.event_stream = iequals_prefix(value, "text/event-stream") &&
                          (value.size() == 17 || value[17] == ';' || value[17] == ' ');
    } else if (name.size() == 17 && iequals_prefix(name, "transfer-encoding")) {
      for (std::size_t i = 0; i + 7 <= value.size(); ++i) {
        if (iequals_prefix(value.substr(i), "chunked")) head.chunked = true;
      }
    }
  }
}

}  // namespace newspush::loadtest

#include "loadtest/sse_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace newspush::loadtest {
namespace {

using namespace std::string_literals;

struct Seen {
  std::string type, data, id;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Seen& seen) {
  return out << "{" << seen.type << " | " << seen.data << " | " << seen.id << "}";
}

// Feeds `chunks` one after the other and collects the events.
std::vector<Seen> parse(const std::vector<std::string>& chunks, SseParser* parser_out = nullptr) {
  SseParser parser;
  std::vector<Seen> seen;
  for (const auto& chunk : chunks) {
    EXPECT_TRUE(parser.feed(chunk, [&](const SseEvent& event) {
      seen.push_back({std::string(event.type), std::string(event.data), std::string(event.id)});
    }));
  }
  if (parser_out != nullptr) *parser_out = parser;
  return seen;
}

// What the server sends (docs: /sse wire spec): retry, then typed events with ids, heartbeats.
const std::string kStream =
    "retry: 3000\n\n"
    "event: subscribed\nid: 1700000000000-0\ndata: "
    "{\"type\":\"subscribed\",\"cursor\":\"1700000000000-0\"}\n\n"
    ": ping\n\n"
    "event: article\nid: 1700000000001-0\ndata: {\"type\":\"article\",\"lt_stream\":3}\n\n"
    "event: trending\ndata: {\"type\":\"trending\",\"category\":\"*\"}\n\n"
    "event: article\nid: 1700000000002-5\ndata: {\"type\":\"article\",\"lt_stream\":8}\n\n"
    "event: close\ndata: {\"type\":\"close\",\"code\":\"shutdown\"}\n\n";

const std::vector<Seen> kExpected = {
    {"subscribed", "{\"type\":\"subscribed\",\"cursor\":\"1700000000000-0\"}", "1700000000000-0"},
    {"article", "{\"type\":\"article\",\"lt_stream\":3}", "1700000000001-0"},
    // no id line: EventSource's last event ID carries over
    {"trending", "{\"type\":\"trending\",\"category\":\"*\"}", "1700000000001-0"},
    {"article", "{\"type\":\"article\",\"lt_stream\":8}", "1700000000002-5"},
    {"close", "{\"type\":\"close\",\"code\":\"shutdown\"}", "1700000000002-5"},
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

TEST(SseParser, ParsesTheServersStreamInOnePiece) {
  SseParser parser;
  EXPECT_EQ(parse({kStream}, &parser), kExpected);
  EXPECT_EQ(parser.retry_ms(), 3000u);
  EXPECT_EQ(parser.comments(), 1u);
  EXPECT_EQ(parser.last_event_id(), "1700000000002-5");
}

TEST(SseParser, SameEventsWhereverTheBytesAreSplit) {
  for (const std::string& ending : {std::string("\n"), std::string("\r\n"), std::string("\r")}) {
    const std::string stream = replace_all(kStream, "\n", ending);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      EXPECT_EQ(parse({stream.substr(0, cut), stream.substr(cut)}), kExpected)
          << "cut at " << cut << ", line ending size " << ending.size();
    }
    for (std::size_t a = 0; a <= stream.size(); a += 7) {
      for (std::size_t b = a; b <= stream.size(); b += 5) {
        EXPECT_EQ(parse({stream.substr(0, a), stream.substr(a, b - a), stream.substr(b)}),
                  kExpected)
            << "cuts at " << a << " and " << b;
      }
    }
    std::vector<std::string> bytes;
    for (char c : stream) bytes.emplace_back(1, c);
    EXPECT_EQ(parse(bytes), kExpected) << "byte by byte";
  }
}

TEST(SseParser, EmptyChunksChangeNothing) {
  const std::string crlf = replace_all(kStream, "\n", "\r\n");
  std::vector<std::string> chunks;
  for (char c : crlf) {
    chunks.emplace_back(1, c);
    chunks.emplace_back();  // an empty read between the CR and the LF must not lose the pairing
  }
  EXPECT_EQ(parse(chunks), kExpected);
}

TEST(SseParser, CrAloneThenLfIsTwoLineEndings) {
  // "\r" ends a line; a later "\n" not right after it is a line ending of its own (a blank line).
  EXPECT_EQ(parse({"data: a\r", "data: x\n", "\n"}), (std::vector<Seen>{{"message", "a\nx", ""}}));
  EXPECT_EQ(parse({"data: a\r\r"}), (std::vector<Seen>{{"message", "a", ""}}));
  EXPECT_EQ(parse({"data: a\n\r\n"}), (std::vector<Seen>{{"message", "a", ""}}));
}

TEST(SseParser, DataLinesAreJoinedWithNewlines) {
  EXPECT_EQ(parse({"data: one\ndata:two\ndata\ndata:  three\n\n"}),
            (std::vector<Seen>{{"message", "one\ntwo\n\n three", ""}}));
  EXPECT_EQ(parse({"data\n\n"}), (std::vector<Seen>{{"message", "", ""}}));  // empty data: an event
  EXPECT_EQ(parse({"data:\n\n"}), (std::vector<Seen>{{"message", "", ""}}));
}

TEST(SseParser, EventsWithoutDataAreNotDispatchedAndForgetTheirType) {
  EXPECT_EQ(parse({"event: article\nid: 7\n\ndata: x\n\n"}),
            (std::vector<Seen>{{"message", "x", "7"}}));
  EXPECT_TRUE(parse({"retry: 10\n\n: c\n\nevent: a\n\n"}).empty());
}

TEST(SseParser, TheTypeIsResetAfterEachEvent) {
  EXPECT_EQ(parse({"event: article\ndata: 1\n\ndata: 2\n\n"}),
            (std::vector<Seen>{{"article", "1", ""}, {"message", "2", ""}}));
}

TEST(SseParser, AnUnfinishedEventIsNotDispatched) {
  EXPECT_TRUE(parse({"event: article\ndata: {\"type\":\"article\"}\n"}).empty());
  EXPECT_TRUE(parse({"data: x"}).empty());
}

TEST(SseParser, IdRulesFollowEventSource) {
  // An empty id clears the last event ID; an id with NUL is ignored; an id alone dispatches
  // nothing.
  EXPECT_EQ(parse({"id: 5\ndata: a\n\nid\ndata: b\n\n"}),
            (std::vector<Seen>{{"message", "a", "5"}, {"message", "b", ""}}));
  EXPECT_EQ(parse({"id: 5\ndata: a\n\nid: 6\0x\ndata: b\n\n"s}),
            (std::vector<Seen>{{"message", "a", "5"}, {"message", "b", "5"}}));
  SseParser parser;
  parse({"id: 9\n\n"}, &parser);
  EXPECT_EQ(parser.last_event_id(), "9");
}

TEST(SseParser, RetryTakesDigitsOnly) {
  SseParser parser;
  parse({"retry: 250\n\n"}, &parser);
  EXPECT_EQ(parser.retry_ms(), 250u);
  parse({"retry: 250\nretry: 1s\nretry:\nretry: -1\n\n"}, &parser);
  EXPECT_EQ(parser.retry_ms(), 250u);
}

TEST(SseParser, CommentsAndUnknownFieldsAreIgnored) {
  SseParser parser;
  EXPECT_EQ(
      parse({": ping\n", ":\n", "foo: bar\n", "data: x\n", ": in the middle\n", "\n"}, &parser),
      (std::vector<Seen>{{"message", "x", ""}}));
  EXPECT_EQ(parser.comments(), 3u);
  // Field names are case-sensitive, and "data " (with a space) is another field.
  EXPECT_TRUE(parse({"Data: x\ndata : y\n\n"}).empty());
}

TEST(SseParser, ByteOrderMarkOnlyAtTheStart) {
  EXPECT_EQ(parse({"\xEF\xBB",
                   "\xBF"
                   "data: a\n\n"}),
            (std::vector<Seen>{{"message", "a", ""}}));
  // Later, it is part of the field name: an unknown field.
  EXPECT_EQ(parse({"data: a\n\n\xEF\xBB\xBF"
                   "data: b\n\n"}),
            (std::vector<Seen>{{"message", "a", ""}}));
}

TEST(SseParser, ALineLongerThanTheLimitBreaksTheStream) {
  SseParser parser(16);
  int events = 0;
  const auto count = [&](const SseEvent&) { ++events; };
  EXPECT_TRUE(parser.feed("data: 0123456789\n\n", count));  // 16 bytes: at the limit
  EXPECT_TRUE(parser.feed("data: 01234", count));
  EXPECT_FALSE(parser.feed("56789X\n\n", count));
  EXPECT_FALSE(parser.feed("data: ok\n\n", count));  // stays broken
  EXPECT_EQ(events, 1);
  parser.restart();
  EXPECT_TRUE(parser.feed("data: ok\n\n", count));
  EXPECT_EQ(events, 2);
}

TEST(SseParser, RestartDropsTheUnfinishedEventAndKeepsTheLastId) {
  SseParser parser;
  std::vector<Seen> seen;
  const auto keep = [&](const SseEvent& e) {
    seen.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
  };
  parser.feed("id: 3\nevent: article\ndata: x\n\nevent: article\ndata: half", keep);
  parser.restart();
  parser.feed("retry: 3000\n\ndata: y\n\n", keep);
  EXPECT_EQ(seen, (std::vector<Seen>{{"article", "x", "3"}, {"message", "y", "3"}}));
}

TEST(SseParser, LargeEventAcrossManyReads) {
  std::string json = "{\"type\":\"article\",\"summary\":\"" + std::string(200000, 'a') + "\"}";
  std::string stream = "event: article\nid: 1-0\ndata: " + json + "\n\n";
  std::vector<std::string> chunks;
  for (std::size_t at = 0; at < stream.size(); at += 4096)
    chunks.push_back(stream.substr(at, 4096));
  EXPECT_EQ(parse(chunks), (std::vector<Seen>{{"article", json, "1-0"}}));
}

TEST(HttpResponseHead, ReadsStatusTypeAndWhereTheBodyStarts) {
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n";
  const std::string bytes = head + "retry: 3000\n\n";
  for (std::size_t cut = 0; cut < head.size(); ++cut) {
    EXPECT_EQ(parse_response_head(std::string_view(bytes).substr(0, cut)).state,
              HttpResponseHead::State::incomplete)
        << cut;
  }
  const auto parsed = parse_response_head(bytes);
  ASSERT_EQ(parsed.state, HttpResponseHead::State::complete);
  EXPECT_EQ(parsed.status, 200u);
  EXPECT_TRUE(parsed.event_stream);
  EXPECT_FALSE(parsed.chunked);
  EXPECT_EQ(bytes.substr(parsed.size), "retry: 3000\n\n");
}

TEST(HttpResponseHead, HeaderNamesAreCaseInsensitive) {
  const auto parsed = parse_response_head(
      "HTTP/1.1 200 OK\r\ncontent-type:TEXT/EVENT-STREAM; charset=utf-8\r\n"
      "TRANSFER-ENCODING: gzip, chunked\r\n\r\n");
  EXPECT_TRUE(parsed.event_stream);
  EXPECT_TRUE(parsed.chunked);
  EXPECT_FALSE(parse_response_head("HTTP/1.1 200 OK\r\nContent-Type: text/event-streamx\r\n\r\n")
                   .event_stream);
}

TEST(HttpResponseHead, Refusals) {
  const auto parsed = parse_response_head(
      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 5\r\n\r\n"
      "{\"error\":\"too_many_connections\"}");
  ASSERT_EQ(parsed.state, HttpResponseHead::State::complete);
  EXPECT_EQ(parsed.status, 429u);
  EXPECT_FALSE(parsed.event_stream);
  EXPECT_EQ(parse_response_head("HTTP/1.0 400\n\n").status, 400u);  // bare LF, no reason
}

TEST(HttpResponseHead, Malformed) {
  for (const char* bytes :
       {"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n"}) {
    EXPECT_EQ(parse_response_head(bytes).state, HttpResponseHead::State::malformed) << bytes;
  }
}

}  // namespace
}  // namespace newspush::loadtest

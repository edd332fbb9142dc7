// --log-format json: every line newspushd writes is one JSON object (time, level, event, fields);
// HTTP requests carry X-Request-Id, echoed and logged; the drain's events are named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/articles.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/raw_tcp.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/ws_client.hpp"

namespace newspush::test {
namespace {

using nlohmann::json;

const std::string kKey = "log-format-test-key-0123456789";

// Every line of the output so far, parsed; fails the test on a line that is not a JSON object
// with a string time (RFC 3339, UTC, milliseconds), a known level and a string event.
std::vector<json> parsed_lines(NewspushdProcess& node) {
  static const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<json> objects;
  for (const auto& line : node.process().lines()) {
    json object = json::parse(line, nullptr, false);
    EXPECT_TRUE(object.is_object()) << "not a JSON object: " << line;
    if (!object.is_object()) continue;
    EXPECT_TRUE(object["time"].is_string() &&
                std::regex_match(object["time"].get<std::string>(), rfc3339))
        << line;
    EXPECT_THAT(object["level"], testing::AnyOf("debug", "info", "warn", "error")) << line;
    EXPECT_TRUE(object["event"].is_string()) << line;
    objects.push_back(std::move(object));
  }
  return objects;
}

// The lines of `event` whose request_id is `id`.
std::vector<json> lines_of(const std::vector<json>& lines, std::string_view event,
                           std::string_view id) {
  std::vector<json> found;
  for (const auto& line : lines)
    if (line["event"] == event && line.value("request_id", "") == id) found.push_back(line);
  return found;
}

std::size_t position_of(const std::vector<json>& lines, std::string_view event) {
  auto at = std::find_if(lines.begin(), lines.end(),
                         [&](const json& line) { return line["event"] == event; });
  return static_cast<std::size_t>(at - lines.begin());
}

TEST(JsonLogs, EveryLineIsJsonRequestIdsAreEchoedAndLoggedAndTheDrainIsNamed) {
  RedisServer redis;
  NewspushdProcess node(redis.url(),
                        {"--log-format", "json", "--publish-key", kKey, "--drain-timeout", "10"});
  ASSERT_TRUE(node.wait_ready()) << node.output();
  auto reader = WsClient::connect(node.port());
  ASSERT_TRUE(reader->next_event_of_type("welcome"));

  // With the client's own id: kept, echoed, and on the line saying the article was published.
  const auto published =
      http_request(node.port(), "POST", "/api/v1/articles", make_article("log-1", "sports").dump(),
                   {{"Authorization", "Bearer " + kKey}, {"X-Request-Id", "newsroom-req-42"}});
  ASSERT_TRUE(published);
  EXPECT_EQ(published->status, 201) << published->body;
  EXPECT_EQ(published->header("X-Request-Id"), "newsroom-req-42");

  // Without one: newspushd makes one, echoes it, and logs the refusal with it.
  const auto refused = http_get(node.port(), "/api/v1/articles?category=NOT%20A%20SLUG");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  const auto made_up = refused->header("X-Request-Id");
  ASSERT_TRUE(made_up);
  EXPECT_TRUE(std::regex_match(*made_up, std::regex("[0-9a-f]{8}-[0-9a-f]+"))) << *made_up;

  // An id that could break a log line or a header is not taken.
  const auto unsafe =
      http_request(node.port(), "GET", "/no-such-page", {}, {{"X-Request-Id", "x\" injected=\"1"}});
  ASSERT_TRUE(unsafe);
  EXPECT_EQ(unsafe->status, 404);
  const auto replaced = unsafe->header("X-Request-Id");
  ASSERT_TRUE(replaced);
  EXPECT_TRUE(std::regex_match(*replaced, std::regex("[0-9a-f]{8}-[0-9a-f]+"))) << *replaced;

  // The upgrade's 101 and the event stream's head echo it too.
  {
    RawTcp upgrade(node.port());
    ASSERT_TRUE(upgrade.send(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "X-Request-Id: ws-req-7\r\n\r\n"));
    EXPECT_EQ(upgrade.read_status(), 101) << upgrade.received();
    EXPECT_THAT(upgrade.received(), testing::HasSubstr("\r\nX-Request-Id: ws-req-7\r\n"));
  }
  auto stream = std::make_unique<SseClient>(node.port(), "/sse?categories=sports",
                                            std::vector<std::pair<std::string, std::string>>{
                                                {"X-Request-Id", "sse-req-9"}});
  ASSERT_EQ(stream->status(), 200);
  EXPECT_EQ(stream->header("X-Request-Id"), "sse-req-9");

  ASSERT_TRUE(node.process().wait_for_line(*replaced, 10s)) << node.output();
  // The drain starts with the reader and the stream, the upgrade above gone.
  ASSERT_TRUE(node.wait_metric_at_most("newspush_connections", 2)) << node.metrics_text();
  ASSERT_TRUE(node.wait_metric_at_least("newspush_connections", 2)) << node.metrics_text();
  ASSERT_TRUE(node.process().send_signal(SIGTERM));
  ASSERT_TRUE(reader->wait_closed(15s));
  EXPECT_EQ(reader->close_code(), 1001);
  reader.reset();
  // The stream ends with a close event, then the body; a reader then closes its side, as
  // EventSource does, and the drain is over.
  EXPECT_TRUE(stream->next_of_type("close", 15s)) << stream->raw();
  EXPECT_TRUE(stream->wait_closed());
  stream.reset();
  EXPECT_EQ(node.process().wait_exit(30s), 0) << node.output();

  const auto lines = parsed_lines(node);
  ASSERT_FALSE(lines.empty());

  const auto publish_lines = lines_of(lines, "article.published", "newsroom-req-42");
  ASSERT_EQ(publish_lines.size(), 1u) << node.output();
  EXPECT_EQ(publish_lines[0]["level"], "info");
  EXPECT_EQ(publish_lines[0]["id"], "log-1");
  EXPECT_EQ(publish_lines[0]["status"], "article");
  EXPECT_TRUE(publish_lines[0]["cursor"].is_string());

  const auto refusal_lines = lines_of(lines, "http.refused", *made_up);
  ASSERT_EQ(refusal_lines.size(), 1u) << node.output();
  EXPECT_EQ(refusal_lines[0]["status"], 400);
  EXPECT_EQ(refusal_lines[0]["method"], "GET");
  EXPECT_EQ(refusal_lines[0]["path"], "/api/v1/articles");
  EXPECT_EQ(refusal_lines[0]["error"], "bad_category");

  const auto not_found_lines = lines_of(lines, "http.refused", *replaced);
  ASSERT_EQ(not_found_lines.size(), 1u) << node.output();
  EXPECT_EQ(not_found_lines[0]["status"], 404);

  // The drain, by name, in order, then the end.
  const auto started = position_of(lines, "drain.started");
  const auto finished = position_of(lines, "drain.finished");
  const auto stopped = position_of(lines, "stopped");
  ASSERT_LT(started, lines.size()) << node.output();
  ASSERT_LT(finished, lines.size()) << node.output();
  ASSERT_LT(stopped, lines.size()) << node.output();
  EXPECT_LT(started, finished);
  EXPECT_LT(finished, stopped);
  EXPECT_EQ(lines[started]["signal"], "SIGTERM");
  EXPECT_EQ(lines[started]["connections"], 2);  // the WebSocket reader and the stream
  EXPECT_TRUE(lines[finished]["duration_ms"].is_number_integer());
  EXPECT_EQ(position_of(lines, "drain.timed_out"), lines.size());
  EXPECT_LT(position_of(lines, "listening"), lines.size());
  EXPECT_LT(position_of(lines, "redis.subscribed"), lines.size());
}

TEST(JsonLogs, ABadFormatIsRefusedWithExitCode2) {
  ChildProcess bad({newspushd_bin(), "--log-format", "yaml"});
  EXPECT_EQ(bad.wait_exit(10s), 2);
  const auto lines = bad.lines();
  ASSERT_EQ(lines.size(), 1u) << bad.output();
  EXPECT_THAT(lines[0], testing::HasSubstr("--log-format: invalid value 'yaml'"));
}

}  // namespace
}  // namespace newspush::test

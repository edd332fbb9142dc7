#include "server/log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <thread>

#include <limits>
#include <nlohmann/json.hpp>

namespace newspush {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::EndsWith;
using testing::HasSubstr;

// 2026-12-03T10:15:30.042Z
const auto kTime = std::chrono::system_clock::time_point(1796292930042ms);

std::string json_line(std::string_view event, LogFields fields, LogLevel level = LogLevel::info) {
  return format_log_line(LogFormat::json, kTime, level, event, fields);
}

std::string text_line(std::string_view event, LogFields fields, LogLevel level = LogLevel::info) {
  return format_log_line(LogFormat::text, kTime, level, event, fields);
}

// Parses one line (it must end with '\n' and hold no other) as JSON; throws on invalid JSON,
// invalid UTF-8 included.
json parse_line(const std::string& line) {
  EXPECT_THAT(line, EndsWith("\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  return json::parse(line.substr(0, line.size() - 1));
}

TEST(JsonLog, OneObjectWithTimeLevelEventAndTheFieldsBeside) {
  const std::string line = json_line("listening", {{"address", "127.0.0.1:8080"}, {"threads", 2}});
  EXPECT_EQ(line, R"({"time":"2026-12-03T10:15:30.042Z","level":"info","event":"listening",)"
                  R"("address":"127.0.0.1:8080","threads":2})"
                  "\n");
}

TEST(JsonLog, LevelsAreLowerCase) {
  EXPECT_EQ(parse_line(json_line("e", {}, LogLevel::debug))["level"], "debug");
  EXPECT_EQ(parse_line(json_line("e", {}, LogLevel::warn))["level"], "warn");
  EXPECT_EQ(parse_line(json_line("e", {}, LogLevel::error))["level"], "error");
}

TEST(JsonLog, NumbersAndBooleansAreJsonValues) {
  const auto object =
      parse_line(json_line("numbers", {{"negative", -42},
                                       {"big", std::numeric_limits<std::uint64_t>::max()},
                                       {"smallest", std::numeric_limits<std::int64_t>::min()},
                                       {"size", std::size_t{7}},
                                       {"ratio", 0.25},
                                       {"yes", true},
                                       {"no", false}}));
  EXPECT_EQ(object["negative"], -42);
  EXPECT_EQ(object["big"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(object["smallest"].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(object["size"], 7);
  EXPECT_EQ(object["ratio"], 0.25);
  EXPECT_EQ(object["yes"], true);
  EXPECT_EQ(object["no"], false);
}

TEST(JsonLog, NonFiniteNumbersBecomeNull) {
  const auto object =
      parse_line(json_line("e", {{"inf", std::numeric_limits<double>::infinity()},
                                 {"nan", std::numeric_limits<double>::quiet_NaN()}}));
  EXPECT_TRUE(object["inf"].is_null());
  EXPECT_TRUE(object["nan"].is_null());
}

TEST(JsonLog, QuotesBackslashesAndControlCharactersAreEscaped) {
  const std::string nasty = std::string("a\"b\\c\nd\re\tf\x01g\x1fh\x7f") + '\0' + "end";
  const std::string line = json_line("e", {{"text", nasty}});
  const auto object = parse_line(line);
  EXPECT_EQ(object["text"], nasty);
  EXPECT_THAT(line, HasSubstr(R"(a\"b\\c\nd\re\tf\u0001g\u001fh\u007f\u0000end)"));
}

TEST(JsonLog, InvalidUtf8BecomesReplacementCharacters) {
  const std::string replacement = "\xEF\xBF\xBD";
  struct Case {
    std::string input;
    std::string expected;
  };
  const Case cases[] = {
      {"caf\xC3\xA9", "caf\xC3\xA9"},                             // valid: kept
      {"\xF0\x9F\x93\xB0 news", "\xF0\x9F\x93\xB0 news"},         // 4 bytes, valid
      {"bad \xFF byte", "bad " + replacement + " byte"},          // never in UTF-8
      {"cut \xC3", "cut " + replacement},                         // truncated sequence
      {"\xC0\xAF", replacement + replacement},                    // overlong '/'
      {"\xE0\x80\xAF", replacement + replacement + replacement},  // overlong, 3 bytes
      {"\xED\xA0\x80", replacement + replacement + replacement},  // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", replacement + replacement + replacement + replacement},  // > U+10FFFF
      {"\x80lone", replacement + "lone"},  // a lone continuation byte
  };
  for (const auto& c : cases) {
    const std::string line = json_line("e", {{"text", c.input}, {"bad\xFFkey", 1}});
    json object;
    ASSERT_NO_THROW(object = parse_line(line)) << line;
    EXPECT_EQ(object["text"], c.expected) << line;
    EXPECT_EQ(object["bad" + replacement + "key"], 1) << line;
  }
}

TEST(JsonLog, EventNamesAreEscapedToo) {
  const auto object = parse_line(json_line("odd\"event\n\xFF", {}));
  EXPECT_EQ(object["event"], "odd\"event\n\xEF\xBF\xBD");
}

TEST(JsonLog, AFieldNamedLikeTheLinesOwnMembersIsRenamed) {
  const auto object =
      parse_line(json_line("real", {{"time", "fake"}, {"level", "fake"}, {"event", "fake"}}));
  EXPECT_EQ(object["event"], "real");
  EXPECT_EQ(object["level"], "info");
  EXPECT_EQ(object["time"], "2026-12-03T10:15:30.042Z");
  EXPECT_EQ(object["field_time"], "fake");
  EXPECT_EQ(object["field_level"], "fake");
  EXPECT_EQ(object["field_event"], "fake");
}

TEST(JsonLog, PlainMessagesAreTheMessageEventWithAMsgField) {
  const auto object = parse_line(json_line(kMessageEvent, {{"msg", "something happened"}}));
  EXPECT_EQ(object["event"], "message");
  EXPECT_EQ(object["msg"], "something happened");
}

TEST(JsonLog, TimeIsRfc3339UtcWithMilliseconds) {
  const auto at = [](std::chrono::system_clock::time_point t) {
    return parse_line(format_log_line(LogFormat::json, t, LogLevel::info, "e", {}))["time"];
  };
  EXPECT_EQ(at(std::chrono::system_clock::time_point(0ms)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(at(std::chrono::system_clock::time_point(999ms)), "1970-01-01T00:00:00.999Z");
  EXPECT_EQ(at(kTime), "2026-12-03T10:15:30.042Z");
}

TEST(TextLog, EventThenKeyValueFields) {
  EXPECT_EQ(text_line("listening", {{"address", "127.0.0.1:8080"}, {"threads", 2}}),
            "2026-12-03T10:15:30.042Z INFO listening address=127.0.0.1:8080 threads=2\n");
  EXPECT_EQ(text_line("drain.finished", {{"duration_ms", 12}, {"ok", true}, {"ratio", 0.5}},
                      LogLevel::warn),
            "2026-12-03T10:15:30.042Z WARN drain.finished duration_ms=12 ok=true ratio=0.5\n");
}

TEST(TextLog, ValuesWithSpacesQuotesOrControlsAreQuotedAndEscaped) {
  EXPECT_EQ(text_line("redis.disconnected", {{"error", "connection refused"}, {"empty", ""}}),
            "2026-12-03T10:15:30.042Z INFO redis.disconnected error=\"connection refused\" "
            "empty=\"\"\n");
  // A field cannot forge a second line, nor a field of its own.
  EXPECT_EQ(text_line("e", {{"v", "a\nINFO forged k=v"}}),
            "2026-12-03T10:15:30.042Z INFO e v=\"a\\nINFO forged k=v\"\n");
  EXPECT_EQ(text_line("e", {{"v", "say \"hi\"\\"}}),
            "2026-12-03T10:15:30.042Z INFO e v=\"say \\\"hi\\\"\\\\\"\n");
  // UTF-8 stays as it is; what is not UTF-8 becomes U+FFFD.
  EXPECT_EQ(text_line("e", {{"v", "caf\xC3\xA9"}, {"w", "x\xFFy"}}),
            "2026-12-03T10:15:30.042Z INFO e v=caf\xC3\xA9 w=\"x\xEF\xBF\xBDy\"\n");
}

TEST(TextLog, PlainMessagesReadAsTheyAlwaysDid) {
  EXPECT_EQ(
      text_line(kMessageEvent, {{"msg", "redis AUTH failed: \"x\" (retrying)"}}, LogLevel::error),
      "2026-12-03T10:15:30.042Z ERROR redis AUTH failed: \"x\" (retrying)\n");
  EXPECT_EQ(text_line(kMessageEvent, {{"msg", "two\nlines"}}),
            "2026-12-03T10:15:30.042Z INFO two\\nlines\n");
}

TEST(LogLevelFilter, OnlyTheLevelAndAbove) {
  set_log_level(LogLevel::warn);
  EXPECT_FALSE(log_enabled(LogLevel::debug));
  EXPECT_FALSE(log_enabled(LogLevel::info));
  EXPECT_TRUE(log_enabled(LogLevel::warn));
  EXPECT_TRUE(log_enabled(LogLevel::error));
  set_log_level(LogLevel::debug);
  EXPECT_TRUE(log_enabled(LogLevel::debug));
  set_log_level(LogLevel::info);
}

// What the process writes to stderr meanwhile (log_event's real output), in a temporary file.
class CapturedStderr {
 public:
  CapturedStderr() : file_(std::tmpfile()), saved_(::dup(STDERR_FILENO)) {
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~CapturedStderr() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    std::fclose(file_);
    set_log_format(LogFormat::text);
    set_log_level(LogLevel::info);
  }
  std::vector<std::string> lines() const {
    std::string text;
    char buffer[4096];
    for (off_t at = 0;;) {
      const auto n = ::pread(::fileno(file_), buffer, sizeof buffer, at);
      if (n <= 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
      at += n;
    }
    std::vector<std::string> result;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) result.push_back(line);
    return result;
  }

 private:
  std::FILE* file_;
  int saved_;
};

TEST(LogOutput, WritesTheConfiguredFormatAndSkipsLevelsBelowTheThreshold) {
  CapturedStderr captured;
  set_log_level(LogLevel::info);
  set_log_format(LogFormat::json);
  log_event(LogLevel::debug, "hidden", {{"n", 1}});
  log_event(LogLevel::info, "shown", {{"n", 2}});
  log_warn("plain \xFF prose");
  set_log_format(LogFormat::text);
  log_event(LogLevel::error, "as.text", {{"n", 3}});
  const auto lines = captured.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[0])["event"], "shown");
  const auto prose = json::parse(lines[1]);
  EXPECT_EQ(prose["event"], "message");
  EXPECT_EQ(prose["level"], "warn");
  EXPECT_EQ(prose["msg"], "plain \xEF\xBF\xBD prose");
  EXPECT_THAT(lines[2], EndsWith(" ERROR as.text n=3"));
}

TEST(LogOutput, RateLimitedLogKeepsItsBurstThenSaysHowManyItDropped) {
  for (auto format : {LogFormat::json, LogFormat::text}) {
    CapturedStderr captured;
    set_log_format(format);
    RateLimitedLog limited(2, std::chrono::seconds(1));
    for (int i = 0; i < 5; ++i) limited.log_event(LogLevel::warn, "flood", {{"i", i}});
    // The next window opens by the clock: the summary comes with its first line.
    std::this_thread::sleep_for(1100ms);
    limited.log_event(LogLevel::warn, "flood", {{"i", 5}});
    const auto lines = captured.lines();
    ASSERT_EQ(lines.size(), 4u);
    if (format == LogFormat::json) {
      EXPECT_EQ(json::parse(lines[0])["i"], 0);
      EXPECT_EQ(json::parse(lines[1])["i"], 1);
      const auto summary = json::parse(lines[2]);
      EXPECT_EQ(summary["event"], "log.suppressed");
      EXPECT_EQ(summary["count"], 3);
      EXPECT_EQ(summary["of"], "flood");
      EXPECT_EQ(json::parse(lines[3])["i"], 5);
    } else {
      EXPECT_THAT(lines[0], EndsWith(" WARN flood i=0"));
      EXPECT_THAT(lines[2], EndsWith(" WARN log.suppressed count=3 of=flood"));
      EXPECT_THAT(lines[3], EndsWith(" WARN flood i=5"));
    }
  }
}

TEST(LogFormatParsing, ExactlyTextOrJson) {
  EXPECT_EQ(parse_log_format("text"), LogFormat::text);
  EXPECT_EQ(parse_log_format("json"), LogFormat::json);
  EXPECT_EQ(parse_log_format("JSON"), std::nullopt);
  EXPECT_EQ(parse_log_format(""), std::nullopt);
}

}  // namespace
}  // namespace newspush

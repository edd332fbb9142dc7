#include "cli/terminal_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace newspush::cli {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(TerminalSafe, TextAndAccentsPassUnchanged) {
  for (const char* text : {"", "Victoire à Lyon", "Économie", "société", "Ça ira — “oui” 漢字 😀",
                           "a b [2J ]0;x"}) {
    EXPECT_EQ(terminal_safe(text), text);
    EXPECT_EQ(terminal_safe_json(text), text);
  }
}

TEST(TerminalSafe, EscapeSequencesLoseTheirControls) {
  const std::string title = "Titre\x1b[2J\x1b]0;pwned\x07 fin";
  EXPECT_EQ(terminal_safe(title), "Titre" + kFffd + "[2J" + kFffd + "]0;pwned" + kFffd + " fin");
}

TEST(TerminalSafe, EveryC0ControlAndDelAreReplaced) {
  for (int c = 0; c < 0x20; ++c) {
    std::string text = "a" + std::string(1, static_cast<char>(c)) + "b";
    EXPECT_EQ(terminal_safe(text), "a" + kFffd + "b") << c;
  }
  EXPECT_EQ(terminal_safe("a\x7f" "b"), "a" + kFffd + "b");
}

TEST(TerminalSafe, C1ControlsInUtf8AreReplacedTheRestOfLatin1Kept) {
  for (int second = 0x80; second <= 0x9F; ++second) {
    std::string text = std::string("a\xC2") + static_cast<char>(second) + "b";
    EXPECT_EQ(terminal_safe(text), "a" + kFffd + "b") << second;
  }
  EXPECT_EQ(terminal_safe("\xC2\xA0\xC2\xA9"), "\xC2\xA0\xC2\xA9");  // NBSP, ©
}

TEST(TerminalSafe, BytesThatAreNotUtf8AreReplaced) {
  EXPECT_EQ(terminal_safe("a\x9b" "2Jb"), "a" + kFffd + "2Jb");    // 8-bit CSI alone
  EXPECT_EQ(terminal_safe("\xC3"), kFffd);                          // truncated
  EXPECT_EQ(terminal_safe("\xC0\xAF"), kFffd + kFffd);              // overlong '/'
  EXPECT_EQ(terminal_safe("\xE0\x80\x9B"), kFffd + kFffd + kFffd);  // overlong CSI
  EXPECT_EQ(terminal_safe("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(terminal_safe("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
}

TEST(TerminalSafeJson, ControlsBecomeEscapesThatKeepTheJsonMeaning) {
  EXPECT_EQ(terminal_safe_json("{\"title\":\"a\x7f\xC2\x9B" "b\"}"),
            "{\"title\":\"a\\u007f\\u009bb\"}");
  EXPECT_EQ(terminal_safe_json("\x1b\x07"), "\\u001b\\u0007");
  EXPECT_EQ(terminal_safe_json("a\x9b"), "a\\ufffd");
}

}  // namespace
}  // namespace newspush::cli

// Autobahn|Testsuite section 6: text messages must be UTF-8 (RFC 6455 8.1), checked across
// fragments and refused at the first invalid byte, even before the message's last fragment.
// The cases follow the layout of Markus Kuhn's UTF-8 decoder stress test: boundaries, malformed
// sequences, overlong forms, surrogates, noncharacters.
#include <string>
#include <vector>

#include "tests/websocket/codec_driver.hpp"

namespace newspush::websocket::test {
namespace {

const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";  // "κόσμε"

struct Utf8Case {
  std::string section;
  std::string bytes;
  bool valid;
};

void PrintTo(const Utf8Case& c, std::ostream* os) { *os << c.section; }

// One text message three ways: one frame, one fragment per byte, and byte by byte.
void expect_text_verdict(const std::string& bytes, bool valid) {
  const Recorded verdict = valid ? Text(bytes) : Failed(1007);
  expect_events(text(bytes), {verdict});
  std::string fragments;
  if (bytes.empty()) {
    fragments = text("");
  } else {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const std::string one = bytes.substr(i, 1);
      const bool last = i + 1 == bytes.size();
      fragments += i == 0 ? text(one, last) : continuation(one, last);
    }
  }
  expect_events(fragments, {verdict});
}

std::vector<Utf8Case> kuhn_cases() {
  std::vector<Utf8Case> cases = {
      {"6_1_1_empty", "", true},
      {"6_2_1_mixed", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
       true},
      {"6_3_1_surrogate_inside",
       kosme + "\xed\xa0\x80"
               "edited",
       false},
      {"6_5_1_kosme", kosme, true},
      {"6_7_1_first_1_byte", std::string("\x00", 1), true},
      {"6_7_2_first_2_bytes", "\xc2\x80", true},
      {"6_7_3_first_3_bytes", "\xe0\xa0\x80", true},
      {"6_7_4_first_4_bytes", "\xf0\x90\x80\x80", true},
      {"6_8_1_first_5_bytes", "\xf8\x88\x80\x80\x80", false},
      {"6_8_2_first_6_bytes", "\xfc\x84\x80\x80\x80\x80", false},
      {"6_9_1_last_1_byte", "\x7f", true},
      {"6_9_2_last_2_bytes", "\xdf\xbf", true},
      {"6_9_3_last_3_bytes", "\xef\xbf\xbf", true},
      {"6_9_4_last_4_bytes", "\xf4\x8f\xbf\xbf", true},
      {"6_10_1_past_U10FFFF_4_bytes", "\xf7\xbf\xbf\xbf", false},
      {"6_10_2_last_5_bytes", "\xfb\xbf\xbf\xbf\xbf", false},
      {"6_10_3_last_6_bytes", "\xfd\xbf\xbf\xbf\xbf\xbf", false},
      {"6_11_1_UD7FF", "\xed\x9f\xbf", true},
      {"6_11_2_UE000", "\xee\x80\x80", true},
      {"6_11_3_UFFFD", "\xef\xbf\xbd", true},
      {"6_11_4_U10FFFF", "\xf4\x8f\xbf\xbf", true},
      {"6_11_5_U110000", "\xf4\x90\x80\x80", false},
      {"6_12_1_lone_first_continuation", "\x80", false},
      {"6_12_2_lone_last_continuation", "\xbf", false},
      {"6_12_3_two_continuations", "\x80\xbf", false},
      {"6_12_4_three_continuations", "\x80\xbf\x80", false},
      {"6_12_5_four_continuations", "\x80\xbf\x80\xbf", false},
      {"6_12_6_five_continuations", "\x80\xbf\x80\xbf\x80", false},
      {"6_12_7_six_continuations", "\x80\xbf\x80\xbf\x80\xbf", false},
      {"6_12_8_seven_continuations", "\x80\xbf\x80\xbf\x80\xbf\x80", false},
      {"6_16_1_FE", "\xfe", false},
      {"6_16_2_FF", "\xff", false},
      {"6_16_3_FEFEFFFF", "\xfe\xfe\xff\xff", false},
      {"6_17_1_overlong_slash_2", "\xc0\xaf", false},
      {"6_17_2_overlong_slash_3", "\xe0\x80\xaf", false},
      {"6_17_3_overlong_slash_4", "\xf0\x80\x80\xaf", false},
      {"6_17_4_overlong_slash_5", "\xf8\x80\x80\x80\xaf", false},
      {"6_17_5_overlong_slash_6", "\xfc\x80\x80\x80\x80\xaf", false},
      {"6_18_1_max_overlong_2", "\xc1\xbf", false},
      {"6_18_2_max_overlong_3", "\xe0\x9f\xbf", false},
      {"6_18_3_max_overlong_4", "\xf0\x8f\xbf\xbf", false},
      {"6_18_4_max_overlong_5", "\xf8\x87\xbf\xbf\xbf", false},
      {"6_18_5_max_overlong_6", "\xfc\x83\xbf\xbf\xbf\xbf", false},
      {"6_19_1_overlong_nul_2", "\xc0\x80", false},
      {"6_19_2_overlong_nul_3", "\xe0\x80\x80", false},
      {"6_19_3_overlong_nul_4", "\xf0\x80\x80\x80", false},
      {"6_19_4_overlong_nul_5", "\xf8\x80\x80\x80\x80", false},
      {"6_19_5_overlong_nul_6", "\xfc\x80\x80\x80\x80\x80", false},
      {"6_20_1_UD800", "\xed\xa0\x80", false},
      {"6_20_2_UDB7F", "\xed\xad\xbf", false},
      {"6_20_3_UDB80", "\xed\xae\x80", false},
      {"6_20_4_UDBFF", "\xed\xaf\xbf", false},
      {"6_20_5_UDC00", "\xed\xb0\x80", false},
      {"6_20_6_UDF80", "\xed\xbe\x80", false},
      {"6_20_7_UDFFF", "\xed\xbf\xbf", false},
      {"6_21_1_UD800_UDC00", "\xed\xa0\x80\xed\xb0\x80", false},
      {"6_21_2_UD800_UDFFF", "\xed\xa0\x80\xed\xbf\xbf", false},
      {"6_21_3_UDB7F_UDC00", "\xed\xad\xbf\xed\xb0\x80", false},
      {"6_21_4_UDB7F_UDFFF", "\xed\xad\xbf\xed\xbf\xbf", false},
      {"6_21_5_UDB80_UDC00", "\xed\xae\x80\xed\xb0\x80", false},
      {"6_21_6_UDB80_UDFFF", "\xed\xae\x80\xed\xbf\xbf", false},
      {"6_21_7_UDBFF_UDC00", "\xed\xaf\xbf\xed\xb0\x80", false},
      {"6_21_8_UDBFF_UDFFF", "\xed\xaf\xbf\xed\xbf\xbf", false},
      {"6_22_1_UFFFE", "\xef\xbf\xbe", true},
      {"6_22_2_UFFFF", "\xef\xbf\xbf", true},
      {"6_22_3_UFDD0", "\xef\xb7\x90", true},
      {"6_22_4_UFDEF", "\xef\xb7\xaf", true},
      {"6_23_1_UFFFD_in_text",
       "a\xef\xbf\xbd"
       "b",
       true},
  };
  // 6.6: every prefix of "κόσμε"; only those ending on a character boundary are text.
  for (std::size_t n = 1; n <= kosme.size(); ++n) {
    const bool boundary = n == 2 || n == 5 || n == 7 || n == 9 || n == 11;
    cases.push_back({"6_6_" + std::to_string(n) + "_kosme_prefix", kosme.substr(0, n), boundary});
  }
  // 6.12.9: all 64 continuation bytes in a row.
  std::string continuations;
  for (int c = 0x80; c <= 0xbf; ++c) continuations.push_back(static_cast<char>(c));
  cases.push_back({"6_12_9_all_continuations", continuations, false});
  // 6.13: every lead byte followed by a space instead of its continuation.
  for (int lead = 0xc0; lead <= 0xfd; ++lead) {
    cases.push_back({"6_13_lonely_start_" + std::to_string(lead),
                     std::string{static_cast<char>(lead), ' '}, false});
  }
  // 6.14: sequences with their last continuation byte missing, then (6.15) all of them in a row.
  const std::vector<std::string> truncated = {
      "\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
      "\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf",
      "\xc2", "\xe0\xa0", "\xf0\x90\x80",
  };
  std::string all_truncated;
  for (std::size_t i = 0; i < truncated.size(); ++i) {
    cases.push_back({"6_14_" + std::to_string(i + 1) + "_last_byte_missing", truncated[i], false});
    all_truncated += truncated[i];
  }
  cases.push_back({"6_15_1_truncated_concatenated", all_truncated, false});
  // Noncharacters in every plane are still text.
  for (int plane = 1; plane <= 16; ++plane) {
    const std::uint32_t cp = static_cast<std::uint32_t>(plane) << 16 | 0xFFFE;
    const std::string bytes{
        static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
        static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
    cases.push_back({"6_22_plane_" + std::to_string(plane) + "_noncharacter", bytes, true});
  }
  return cases;
}

class Autobahn_6_Kuhn : public ::testing::TestWithParam<Utf8Case> {};
TEST_P(Autobahn_6_Kuhn, TextVerdictIsTheSameWholeFragmentedAndByteByByte) {
  expect_text_verdict(GetParam().bytes, GetParam().valid);
}
INSTANTIATE_TEST_SUITE_P(Cases, Autobahn_6_Kuhn, ::testing::ValuesIn(kuhn_cases()),
                         [](const auto& info) { return info.param.section; });

TEST(Autobahn_6_1, EmptyFragmentsMakeAnEmptyMessage) {
  expect_events(concat({text("", false), continuation("", false), continuation("")}), {Text("")});
}
TEST(Autobahn_6_1_3, EmptyFragmentsAroundText) {
  expect_events(
      concat({text("", false), continuation("middle frame payload", false), continuation("")}),
      {Text("middle frame payload")});
}
TEST(Autobahn_6_2_2, TextFragmentedAtCharacterBoundaries) {
  expect_events(concat({text("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6", false),
                        continuation("\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!")}),
                {Text("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!")});
}
TEST(Autobahn_6_2_4, FourByteCharacterSplitAcrossFragments) {
  // U+1D11E MUSICAL SYMBOL G CLEF, split after each of its bytes.
  const std::string clef = "\xf0\x9d\x84\x9e";
  for (std::size_t cut = 1; cut < clef.size(); ++cut) {
    expect_events(concat({text("a" + clef.substr(0, cut), false), continuation(clef.substr(cut))}),
                  {Text("a" + clef)});
  }
}
TEST(Autobahn_6_3_2, InvalidTextFragmented) {
  const std::string bytes = kosme +
                            "\xed\xa0\x80"
                            "edited";
  expect_events(concat({text(bytes.substr(0, 12), false), continuation(bytes.substr(12))}),
                {Failed(1007)});
}

// 6.4: fail fast. The bytes after the invalid one never arrive: the codec must not wait for them.
TEST(Autobahn_6_4_1, InvalidFirstFragmentFailsBeforeTheRestArrives) {
  const std::string first = text(kosme + "\xf4\x90\x80\x80", false);
  expect_events(first, {Failed(1007)});
}
TEST(Autobahn_6_4_2, InvalidSecondFragmentFailsBeforeTheLastArrives) {
  expect_events(concat({text(kosme, false), continuation("\xf4\x90\x80\x80", false)}),
                {Failed(1007)});
}
TEST(Autobahn_6_4_3, InvalidBytesInsideOneFrameFailBeforeTheFrameEnds) {
  // A frame announcing 100 bytes of which only the first 15 (with the invalid ones) arrive.
  const std::string partial = frame({.opcode = 0x1, .announced = 100}, kosme + "\xf4\x90\x80\x80");
  expect_events(partial, {Failed(1007)});
}
TEST(Autobahn_6_4_4, FailsAtTheFirstInvalidByteEvenIfTheSequenceStartedEarlier) {
  // F4 is a valid lead, 0x90 after it is past U+10FFFF: the failure comes with the 0x90.
  const std::string partial = frame({.opcode = 0x1, .announced = 100}, kosme + "\xf4\x90");
  expect_events(partial, {Failed(1007)});
  const std::string good_so_far = frame({.opcode = 0x1, .announced = 100}, kosme + "\xf4");
  expect_events(good_so_far, {});
}

TEST(Autobahn_6_Binary, BinaryMessagesAreNotChecked) {
  expect_events(binary("\xff\xfe\xc0\x80"), {Binary("\xff\xfe\xc0\x80")});
}
TEST(Autobahn_6_Binary, ContinuationsOfBinaryAreNotChecked) {
  expect_events(concat({binary("\xed", false), continuation("\xa0\x80")}),
                {Binary("\xed\xa0\x80")});
}
TEST(Autobahn_6_Reset, ValidatorStartsFreshForEachMessage) {
  // A text that ends well, then one starting with a continuation byte: each judged on its own.
  expect_events(concat({text("\xc3\xa9"), text("\xa9")}), {Text("\xc3\xa9"), Failed(1007)});
  expect_events(concat({binary("\xc3"), text("\xa9")}), {Binary("\xc3"), Failed(1007)});
}

}  // namespace
}  // namespace newspush::websocket::test

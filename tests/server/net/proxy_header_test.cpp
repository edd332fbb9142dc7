#include "server/net/proxy_header.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace newspush::proxy_header {
namespace {

using namespace std::string_literals;

const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);
const std::string kRequest = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";

// A v2 header: version/command byte, family byte, then `payload` (addresses and TLVs).
std::string v2(unsigned char command, unsigned char family, const std::string& payload) {
  std::string header = kSignature;
  header += static_cast<char>(command);
  header += static_cast<char>(family);
  header += static_cast<char>(payload.size() >> 8);
  header += static_cast<char>(payload.size() & 0xff);
  return header + payload;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

// 203.0.113.7:51000 -> 10.0.0.11:8080
const std::string kInetAddresses = bytes({203, 0, 113, 7, 10, 0, 0, 11, 0xc7, 0x38, 0x1f, 0x90});

std::string endpoint_text(const Result& result) {
  if (!result.source) return "none";
  std::ostringstream out;
  out << *result.source;
  return out.str();
}

TEST(ProxyHeaderV2, ProxyOverInetNamesTheSourceAndLeavesTheRequest) {
  const std::string header = v2(0x21, 0x11, kInetAddresses);
  auto result = parse(header + kRequest);
  ASSERT_EQ(result.status, Status::parsed) << result.reason;
  EXPECT_EQ(result.consumed, header.size());
  EXPECT_EQ(endpoint_text(result), "203.0.113.7:51000");
}

TEST(ProxyHeaderV2, ProxyOverInet6) {
  std::string addresses = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  addresses += std::string(16, '\0') + bytes({0x01, 0xbb, 0x1f, 0x90});
  auto result = parse(v2(0x21, 0x21, addresses));
  ASSERT_EQ(result.status, Status::parsed) << result.reason;
  EXPECT_EQ(result.consumed, 16u + 36u);
  EXPECT_EQ(endpoint_text(result), "[2001:db8::1]:443");
}

TEST(ProxyHeaderV2, LocalAndUnspecMeanThePeerItself) {
  auto local = parse(v2(0x20, 0x00, ""));
  ASSERT_EQ(local.status, Status::parsed);
  EXPECT_EQ(local.consumed, 16u);
  EXPECT_FALSE(local.source);
  // LOCAL with addresses (as some proxies send for health checks): they are ignored.
  auto local_with_addresses = parse(v2(0x20, 0x11, kInetAddresses));
  ASSERT_EQ(local_with_addresses.status, Status::parsed);
  EXPECT_FALSE(local_with_addresses.source);
  auto unspec = parse(v2(0x21, 0x00, ""));
  ASSERT_EQ(unspec.status, Status::parsed);
  EXPECT_FALSE(unspec.source);
}

TEST(ProxyHeaderV2, TlvsAreSkipped) {
  // PP2_TYPE_AUTHORITY "news" and PP2_TYPE_NOOP padding, as HAProxy may add.
  const std::string tlvs = bytes({0x02, 0, 4}) + "news" + bytes({0x04, 0, 3, 0, 0, 0});
  const std::string header = v2(0x21, 0x11, kInetAddresses + tlvs);
  auto result = parse(header + kRequest);
  ASSERT_EQ(result.status, Status::parsed);
  EXPECT_EQ(result.consumed, header.size());
  EXPECT_EQ(endpoint_text(result), "203.0.113.7:51000");
}

TEST(ProxyHeaderV2, EveryPrefixNeedsMore) {
  const std::string header = v2(0x21, 0x11, kInetAddresses);
  for (std::size_t n = 0; n < header.size(); ++n)
    EXPECT_EQ(parse(header.substr(0, n)).status, Status::need_more) << n << " bytes";
  EXPECT_EQ(parse(header).status, Status::parsed);
}

TEST(ProxyHeaderV2, MalformedHeadersAreInvalid) {
  EXPECT_EQ(parse(v2(0x11, 0x11, kInetAddresses)).status, Status::invalid);  // version 1
  EXPECT_EQ(parse(v2(0x22, 0x11, kInetAddresses)).status, Status::invalid);  // command 2
  EXPECT_EQ(parse(v2(0x21, 0x41, kInetAddresses)).status, Status::invalid);  // family 4
  EXPECT_EQ(parse(v2(0x21, 0x13, kInetAddresses)).status, Status::invalid);  // transport 3
  EXPECT_EQ(parse(v2(0x21, 0x12, kInetAddresses)).status, Status::invalid);  // DGRAM
  EXPECT_EQ(parse(v2(0x21, 0x11, kInetAddresses.substr(0, 11))).status, Status::invalid);
  EXPECT_EQ(parse(v2(0x21, 0x21, kInetAddresses)).status, Status::invalid);  // INET6, 12 bytes
  EXPECT_EQ(parse(v2(0x21, 0x31, std::string(216, 'u'))).status, Status::invalid);  // UNIX
}

TEST(ProxyHeaderV2, ALengthOver536IsRefusedBeforeItsBytesArrive) {
  EXPECT_EQ(parse(v2(0x21, 0x11, kInetAddresses + std::string(520 - 12, '\0'))).status,
            Status::parsed);  // 536 in all: the largest taken
  std::string too_long = v2(0x21, 0x11, kInetAddresses + std::string(521 - 12, '\0'));
  auto result = parse(too_long.substr(0, 16));
  EXPECT_EQ(result.status, Status::invalid);
  EXPECT_FALSE(result.reason.empty());
}

TEST(ProxyHeader, AnythingElseIsInvalidFromItsFirstDifferentByte) {
  EXPECT_EQ(parse("").status, Status::need_more);
  EXPECT_EQ(parse("G").status, Status::invalid);
  EXPECT_EQ(parse(kRequest).status, Status::invalid);
  EXPECT_EQ(parse("\r\n\r\n\0\r\nQUIX"s).status, Status::invalid);
  EXPECT_EQ(parse("PROXZ").status, Status::invalid);
  EXPECT_EQ(parse("PROX").status, Status::need_more);
}

TEST(ProxyHeaderV1, Tcp4AndTcp6NameTheSourceAndLeaveTheRequest) {
  const std::string line = "PROXY TCP4 198.51.100.7 10.0.0.11 40000 8080\r\n";
  auto four = parse(line + kRequest);
  ASSERT_EQ(four.status, Status::parsed) << four.reason;
  EXPECT_EQ(four.consumed, line.size());
  EXPECT_EQ(endpoint_text(four), "198.51.100.7:40000");
  auto six = parse("PROXY TCP6 2001:db8::7 2001:db8::1 65535 443\r\n");
  ASSERT_EQ(six.status, Status::parsed) << six.reason;
  EXPECT_EQ(endpoint_text(six), "[2001:db8::7]:65535");
}

TEST(ProxyHeaderV1, UnknownMeansThePeerItself) {
  for (std::string line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 1 2\r\n"}) {
    auto result = parse(line + kRequest);
    ASSERT_EQ(result.status, Status::parsed) << line;
    EXPECT_EQ(result.consumed, line.size());
    EXPECT_FALSE(result.source);
  }
}

TEST(ProxyHeaderV1, EveryPrefixNeedsMore) {
  const std::string line = "PROXY TCP4 198.51.100.7 10.0.0.11 40000 8080\r\n";
  for (std::size_t n = 0; n < line.size(); ++n)
    EXPECT_EQ(parse(line.substr(0, n)).status, Status::need_more) << n << " bytes";
}

TEST(ProxyHeaderV1, MalformedLinesAreInvalid) {
  const char* bad[] = {
      "PROXY TCP5 198.51.100.7 10.0.0.11 40000 8080\r\n",
      "PROXY TCP4 2001:db8::7 10.0.0.11 40000 8080\r\n",  // family and address disagree
      "PROXY TCP6 198.51.100.7 2001:db8::1 40000 8080\r\n",
      "PROXY TCP4 198.51.100.777 10.0.0.11 40000 8080\r\n",
      "PROXY TCP6 fe80::1%eth0 2001:db8::1 40000 8080\r\n",  // a scope names no client
      "PROXY TCP4 198.51.100.7 10.0.0.11 65536 8080\r\n",
      "PROXY TCP4 198.51.100.7 10.0.0.11 040000 8080\r\n",
      "PROXY TCP4 198.51.100.7 10.0.0.11 -1 8080\r\n",
      "PROXY TCP4 198.51.100.7 10.0.0.11 40000\r\n",
      "PROXY TCP4 198.51.100.7 10.0.0.11 40000 8080 extra\r\n",
      "PROXY TCP4  198.51.100.7 10.0.0.11 40000 8080\r\n",  // two spaces
      "PROXY TCP4 198.51.100.7 10.0.0.11 40000 8080\n",     // LF alone
      "PROXY TCP4 198.51.100.7 10.0.0.11 40000 8080\rX",
  };
  for (const char* line : bad) EXPECT_EQ(parse(line).status, Status::invalid) << line;
}

TEST(ProxyHeaderV1, ALineIsAtMost107Bytes) {
  // "PROXY UNKNOWN" + padding + CRLF: 107 bytes are taken, 108 are not.
  std::string longest = "PROXY UNKNOWN " + std::string(107 - 16, 'x') + "\r\n";
  ASSERT_EQ(longest.size(), 107u);
  EXPECT_EQ(parse(longest).status, Status::parsed);
  std::string over = "PROXY UNKNOWN " + std::string(108 - 16, 'x') + "\r\n";
  EXPECT_EQ(parse(over).status, Status::invalid);
  // Without an end in sight, 107 bytes are enough to give up.
  EXPECT_EQ(parse(over.substr(0, 106)).status, Status::need_more);
  EXPECT_EQ(parse(over.substr(0, 107)).status, Status::invalid);
}

}  // namespace
}  // namespace newspush::proxy_header

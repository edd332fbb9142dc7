#include "server/net/proxy_header.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace newspush::proxy_header {
namespace {

namespace ip = boost::asio::ip;

constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::size_t kV2Fixed = 16;  // signature, version and command, family, length

Result invalid(std::string_view why) { return {Status::invalid, 0, std::nullopt, why}; }

Result parsed(std::size_t consumed, std::optional<ip::tcp::endpoint> source = std::nullopt) {
  return {Status::parsed, consumed, source, {}};
}

// Whether the bytes agree with `prefix` as far as they go.
bool starts_like(std::string_view bytes, std::string_view prefix) {
  std::size_t n = std::min(bytes.size(), prefix.size());
  return bytes.substr(0, n) == prefix.substr(0, n);
}

unsigned byte_at(std::string_view bytes, std::size_t i) {
  return static_cast<unsigned char>(bytes[i]);
}

unsigned short port_at(std::string_view bytes, std::size_t i) {
  return static_cast<unsigned short>(byte_at(bytes, i) << 8 | byte_at(bytes, i + 1));
}

Result parse_v2(std::string_view bytes) {
  if (bytes.size() < kV2Fixed) return {};
  if (byte_at(bytes, 12) >> 4 != 2) return invalid("PROXY v2: unsupported version");
  const unsigned command = byte_at(bytes, 12) & 0x0f;  // 0 LOCAL, 1 PROXY
  if (command > 1) return invalid("PROXY v2: unknown command");
  const unsigned family = byte_at(bytes, 13) >> 4;       // 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX
  const unsigned transport = byte_at(bytes, 13) & 0x0f;  // 0 UNSPEC, 1 STREAM, 2 DGRAM
  if (family > 3 || transport > 2) return invalid("PROXY v2: unknown address family");
  const std::size_t total = kV2Fixed + port_at(bytes, 14);
  if (total > kMaxV2) return invalid("PROXY v2: header over 536 bytes");
  if (bytes.size() < total) return {};
  // LOCAL: the proxy speaking for itself (HAProxy's health checks); addresses are to be ignored.
  if (command == 0 || family == 0) return parsed(total);
  if (transport != 1) return invalid("PROXY v2: not a STREAM connection");
  const std::size_t length = total - kV2Fixed;
  if (family == 1) {
    if (length < 12) return invalid("PROXY v2: INET addresses truncated");
    ip::address_v4::bytes_type address;
    std::memcpy(address.data(), bytes.data() + kV2Fixed, address.size());
    return parsed(total, ip::tcp::endpoint(ip::address_v4(address), port_at(bytes, kV2Fixed + 8)));
  }
  if (family == 2) {
    if (length < 36) return invalid("PROXY v2: INET6 addresses truncated");
    ip::address_v6::bytes_type address;
    std::memcpy(address.data(), bytes.data() + kV2Fixed, address.size());
    return parsed(total, ip::tcp::endpoint(ip::address_v6(address), port_at(bytes, kV2Fixed + 32)));
  }
  return invalid("PROXY v2: a UNIX socket address names no client");
}

// The next space-separated field of a v1 line; empty when there is none (or two spaces).
std::string_view next_field(std::string_view& line) {
  std::size_t space = line.find(' ');
  std::string_view field = line.substr(0, space);
  line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  return field;
}

// Text to an address of the family `tcp6` says, through a fixed buffer (no allocation). Scope
// ids ("%eth0") are refused: they name an interface of the proxy's host, not a client.
std::optional<ip::address> v1_address(std::string_view text, bool tcp6) {
  std::array<char, 48> terminated{};
  if (text.empty() || text.size() >= terminated.size() || text.find('%') != std::string_view::npos)
    return std::nullopt;
  std::copy(text.begin(), text.end(), terminated.begin());
  boost::system::error_code ec;
  ip::address address = tcp6 ? ip::address(ip::make_address_v6(terminated.data(), ec))
                             : ip::address(ip::make_address_v4(terminated.data(), ec));
  if (ec) return std::nullopt;
  return address;
}

// Decimal 0-65535 without leading zeros, as the spec writes ports.
std::optional<unsigned short> v1_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text.front() == '0'))
    return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<unsigned short>(value);
}

Result parse_v1(std::string_view bytes) {
  const std::size_t cr = bytes.find('\r');
  const std::size_t lf = bytes.find('\n');
  if (lf != std::string_view::npos && (cr == std::string_view::npos || lf < cr + 1))
    return invalid("PROXY v1: line not ended by CRLF");
  if (cr == std::string_view::npos || cr + 1 == bytes.size())
    return bytes.size() >= kMaxV1 ? invalid("PROXY v1: line over 107 bytes") : Result{};
  if (bytes[cr + 1] != '\n') return invalid("PROXY v1: line not ended by CRLF");
  const std::size_t total = cr + 2;
  if (total > kMaxV1) return invalid("PROXY v1: line over 107 bytes");
  std::string_view line = bytes.substr(kV1Prefix.size(), cr - kV1Prefix.size());
  const std::string_view protocol = next_field(line);
  // UNKNOWN: the proxy could not tell (or its own connection); the rest of the line is ignored.
  if (protocol == "UNKNOWN") return parsed(total);
  if (protocol != "TCP4" && protocol != "TCP6") return invalid("PROXY v1: unknown protocol");
  const bool tcp6 = protocol == "TCP6";
  auto source = v1_address(next_field(line), tcp6);
  auto destination = v1_address(next_field(line), tcp6);
  auto source_port = v1_port(next_field(line));
  auto destination_port = v1_port(next_field(line));
  if (!source || !destination) return invalid("PROXY v1: bad address");
  if (!source_port || !destination_port || !line.empty()) return invalid("PROXY v1: bad port");
  return parsed(total, ip::tcp::endpoint(*source, *source_port));
}

}  // namespace

Result parse(std::string_view bytes) {
  if (bytes.empty()) return {};
  if (starts_like(bytes, kV2Signature))
    return bytes.size() < kV2Signature.size() ? Result{} : parse_v2(bytes);
  if (starts_like(bytes, kV1Prefix))
    return bytes.size() < kV1Prefix.size() ? Result{} : parse_v1(bytes);
  return invalid("no PROXY protocol header");
}

}  // namespace newspush::proxy_header

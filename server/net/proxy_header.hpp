#pragma once
// The PROXY protocol header a load balancer (HAProxy's send-proxy / send-proxy-v2) puts before
// a client's bytes, naming the client. Pure: given the bytes read so far, says whether they hold
// a whole header, could still become one, or cannot; no I/O, no allocation.
// Spec: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <optional>
#include <string_view>

namespace newspush::proxy_header {

// v1 is one text line of at most 107 bytes; v2 is 16 bytes and a length. The spec lets v2 carry
// up to 64 KiB of TLVs; like HAProxy we refuse more than 536 in all (the addresses and a few
// TLVs), so a reader needs only a small fixed buffer.
inline constexpr std::size_t kMaxV1 = 107;
inline constexpr std::size_t kMaxV2 = 536;
inline constexpr std::size_t kMaxHeader = kMaxV2;

enum class Status { need_more, invalid, parsed };

struct Result {
  Status status = Status::need_more;
  // Bytes the header took (parsed only): what follows is the client's own, e.g. its HTTP request.
  std::size_t consumed = 0;
  // The client (parsed only). None for a LOCAL command, v2 UNSPEC or v1 UNKNOWN: the connection
  // is the proxy's own (a health check), so the peer's address is the one to use.
  std::optional<boost::asio::ip::tcp::endpoint> source;
  // Why (invalid only), for the log: a string literal.
  std::string_view reason;
};

// `bytes`: everything read from the connection so far, from its first byte. Garbage is reported
// invalid as soon as it cannot be a header prefix, without waiting for more.
Result parse(std::string_view bytes);

}  // namespace newspush::proxy_header

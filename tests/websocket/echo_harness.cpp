// A test-only WebSocket echo server over websocket::ServerCodec, for conformance tests with real
// clients: plain blocking sockets on 127.0.0.1, one thread per connection, a minimal HTTP/1.1
// upgrade (only Sec-WebSocket-Key is needed; no extension or subprotocol is ever accepted).
// Echoes text and binary messages, answers pings, echoes the peer's close; the text "close-me"
// makes the server start the close itself (1000, "bye"). Prints "listening on PORT" once ready
// and one "connection N: <how it ended>" line per connection, for the tests to wait on.
//
//   websocket_echo_harness [--max-message BYTES]   (default 16 MiB)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "websocket/frame.hpp"
#include "websocket/server_codec.hpp"

namespace {

namespace ws = newspush::websocket;

std::mutex output_mutex;
void say(const std::string& line) {
  std::lock_guard lock{output_mutex};
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string accept_key(std::string_view key) {
  std::string input{key};
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 4.2.2
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_size, EVP_sha1(), nullptr);
  unsigned char encoded[64];
  const int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_size));
  return {reinterpret_cast<char*>(encoded), static_cast<std::size_t>(n)};
}

// The value of one header in an HTTP head, its name matched without regard to case.
std::string_view header_value(std::string_view head, std::string_view name) {
  std::size_t line_start = head.find("\r\n");
  while (line_start != std::string_view::npos && line_start + 2 < head.size()) {
    line_start += 2;
    const std::size_t line_end = head.find("\r\n", line_start);
    const std::string_view line = head.substr(line_start, line_end - line_start);
    const std::size_t colon = line.find(':');
    if (colon == name.size()) {
      bool same = true;
      for (std::size_t i = 0; i < name.size(); ++i)
        same = same && std::tolower(static_cast<unsigned char>(line[i])) ==
                           std::tolower(static_cast<unsigned char>(name[i]));
      if (same) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        return value;
      }
    }
    line_start = line_end;
  }
  return {};
}

// After the last frame: no more writes, then wait (bounded) for the peer to close its side, so
// that unread bytes never turn the close into a reset before the peer has read our close frame.
void linger_and_close(int fd) {
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  pollfd p{fd, POLLIN, 0};
  for (int rounds = 0; rounds < 50 && ::poll(&p, 1, 100) >= 0; ++rounds) {
    if (!(p.revents & POLLIN) && !(p.revents & (POLLHUP | POLLERR))) continue;
    if (::recv(fd, sink, sizeof sink, 0) <= 0) break;
  }
  ::close(fd);
}

void serve(int fd, int id, std::size_t max_message) {
  const std::string name = "connection " + std::to_string(id) + ": ";
  std::string buffer;
  char chunk[65536];
  // The upgrade request's head.
  std::size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0 || buffer.size() > 16384) {
      say(name + "no upgrade");
      ::close(fd);
      return;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  const std::string_view head{buffer.data(), head_end + 2};
  const std::string_view key = header_value(head, "Sec-WebSocket-Key");
  if (key.empty()) {
    send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    say(name + "refused: no Sec-WebSocket-Key");
    ::close(fd);
    return;
  }
  send_all(fd,
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " +
               accept_key(key) + "\r\n\r\n");
  std::string leftover = buffer.substr(head_end + 4);

  ws::ServerCodec codec{max_message};
  bool server_closed = false;
  std::string out;
  for (bool first = true;; first = false) {
    std::string_view input;
    if (first) {
      input = leftover;
    } else {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        say(name + "peer left without a close frame");
        ::close(fd);
        return;
      }
      input = {chunk, static_cast<std::size_t>(n)};
    }
    for (;;) {
      const ws::Event event = codec.read(input);
      switch (event.kind) {
        case ws::EventKind::need_more:
          break;
        case ws::EventKind::text:
          if (event.payload == "close-me") {
            send_all(fd, ws::close_frame(ws::close_code::normal, "bye").bytes());
            codec.close_sent();
            server_closed = true;
            continue;
          }
          [[fallthrough]];
        case ws::EventKind::binary:
          out.clear();
          ws::append_frame(
              out, event.kind == ws::EventKind::text ? ws::Opcode::text : ws::Opcode::binary,
              event.payload);
          send_all(fd, out);
          continue;
        case ws::EventKind::ping:
          send_all(fd, ws::pong_frame(event.payload).bytes());
          continue;
        case ws::EventKind::pong:
          continue;
        case ws::EventKind::close_received:
          send_all(fd, ws::close_frame(event.code).bytes());
          codec.close_sent();
          say(name + "close received " + std::to_string(event.peer_code) + ", echoed " +
              std::to_string(event.code));
          linger_and_close(fd);
          return;
        case ws::EventKind::close_completed:
          say(name + "close completed " + std::to_string(event.peer_code));
          linger_and_close(fd);
          return;
        case ws::EventKind::failed:
          // One close frame per side: none after our own "close-me" close.
          if (!server_closed) send_all(fd, ws::close_frame(event.code).bytes());
          say(name + "failed " + std::to_string(event.code));
          linger_and_close(fd);
          return;
      }
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t max_message = 16 * 1024 * 1024;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--max-message" && i + 1 < argc) {
      max_message = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "websocket_echo_harness: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // the kernel picks a free port: no race with other tests
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 64) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("websocket_echo_harness: listen");
    return 1;
  }
  say("listening on " + std::to_string(ntohs(address.sin_port)));
  std::atomic<int> next_id{1};
  for (;;) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    std::thread{serve, fd, next_id++, max_message}.detach();
  }
}

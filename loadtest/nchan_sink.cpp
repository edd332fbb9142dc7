// Nchan's publisher: POST <prefix><channel> with the article as the body, over one keep-alive
// HTTP/1.1 connection (a small blocking client: one request in flight, as Redis PUBLISH is).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <optional>
#include <stdexcept>

#include "loadtest/article_wire.hpp"
#include "loadtest/publish_sink.hpp"

namespace newspush::loadtest {
namespace {

struct HttpPrefix {
  std::string host;  // numeric IPv4
  std::uint16_t port = 80;
  std::string path;  // ends with '/'
};

HttpPrefix parse_prefix(std::string_view url) {
  const std::string text(url);
  if (!url.starts_with("http://")) throw std::runtime_error("--publish-url must be http://...");
  url.remove_prefix(7);
  const auto slash = url.find('/');
  HttpPrefix prefix;
  prefix.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (!prefix.path.ends_with('/')) prefix.path += '/';
  const auto authority = url.substr(0, slash);
  const auto colon = authority.rfind(':');
  prefix.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    const auto digits = authority.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix.port);
    if (ec != std::errc{} || end != digits.data() + digits.size())
      throw std::runtime_error("--publish-url: bad port in " + text);
  }
  return prefix;
}

// One complete response: its status, body, and whether the server keeps the connection.
struct Response {
  int status = 0;
  bool keep_alive = true;
  std::string body;
};

class NchanSink final : public PublishSink {
 public:
  explicit NchanSink(HttpPrefix prefix) : prefix_(std::move(prefix)) {}
  ~NchanSink() override { disconnect(); }

  void connect() override {
    if (!try_connect()) {
      throw std::runtime_error("cannot connect to Nchan's publisher at " + prefix_.host + ":" +
                               std::to_string(prefix_.port));
    }
  }

  Outcome publish(unsigned stream, std::string_view article) override {
    const auto response = exchange("POST", stream, article);
    if (!response) return Outcome::failed;
    if (response->status == 201) return Outcome::heard;    // delivered to subscribers
    if (response->status == 202) return Outcome::unheard;  // queued, nobody subscribed
    return Outcome::failed;
  }

  // GET on the publisher location: the channel's info, {"subscribers": N, ...} as JSON.
  std::optional<std::uint64_t> subscribers(unsigned stream) override {
    const auto response = exchange("GET", stream, {});
    if (!response) return std::nullopt;
    if (response->status == 404) return 0;  // no channel yet: nobody subscribed
    constexpr std::string_view key = "\"subscribers\":";
    auto at = response->body.find(key);
    if (response->status != 200 || at == std::string::npos) return std::nullopt;
    at += key.size();
    while (at < response->body.size() && response->body[at] == ' ') ++at;
    std::uint64_t count = 0;
    const char* begin = response->body.data() + at;
    auto [end, ec] = std::from_chars(begin, response->body.data() + response->body.size(), count);
    if (ec != std::errc{} || end == begin) return std::nullopt;
    return count;
  }

 private:
  bool try_connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(prefix_.port);
    const timeval timeout{5, 0};  // a stuck server fails the article instead of hanging the run
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (inet_pton(AF_INET, prefix_.host.c_str(), &address.sin_addr) != 1 ||
        ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      disconnect();
      return false;
    }
    buffer_.clear();
    return true;
  }

  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // One request and its response on the keep-alive connection (reopened when needed).
  std::optional<Response> exchange(const char* method, unsigned stream, std::string_view body) {
    if (fd_ < 0 && !try_connect()) return std::nullopt;
    request_.clear();
    request_ += method;
    request_ += ' ';
    request_ += prefix_.path;
    request_ += stream_name(stream);
    request_ += " HTTP/1.1\r\nHost: " + prefix_.host + ":" + std::to_string(prefix_.port);
    request_ += "\r\nAccept: text/json\r\nContent-Type: application/json\r\nContent-Length: ";
    request_ += std::to_string(body.size());
    request_ += "\r\n\r\n";
    request_ += body;
    auto response = send_all(request_) ? read_response() : std::nullopt;
    if (!response || !response->keep_alive) disconnect();
    return response;
  }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  bool receive_more() {
    char chunk[4096];
    for (;;) {
      const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
  }

  // Reads one response with a Content-Length body (what Nchan's publisher sends).
  std::optional<Response> read_response() {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!receive_more()) return std::nullopt;
    }
    const std::string_view head(buffer_.data(), header_end);
    Response response;
    if (!head.starts_with("HTTP/1.1 ") || head.size() < 12) return std::nullopt;
    std::from_chars(head.data() + 9, head.data() + 12, response.status);
    std::size_t body = 0;
    for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;) {
      const auto next = head.find("\r\n", at + 2);
      const auto line = head.substr(at + 2, next == std::string_view::npos ? next : next - at - 2);
      at = next;
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto value = line.substr(colon + 1);
      while (value.starts_with(' ')) value.remove_prefix(1);
      if (name == "content-length")
        std::from_chars(value.data(), value.data() + value.size(), body);
      if (name == "connection" && (value == "close" || value == "Close"))
        response.keep_alive = false;
      if (name == "transfer-encoding") return std::nullopt;  // not expected from Nchan
    }
    const std::size_t total = header_end + 4 + body;
    while (buffer_.size() < total) {
      if (!receive_more()) return std::nullopt;
    }
    response.body.assign(buffer_, header_end + 4, body);
    buffer_.erase(0, total);
    return response;
  }

  HttpPrefix prefix_;
  int fd_ = -1;
  std::string request_;
  std::string buffer_;
};

}  // namespace

std::unique_ptr<PublishSink> make_nchan_sink(const std::string& publish_url) {
  return std::make_unique<NchanSink>(parse_prefix(publish_url));
}

}  // namespace newspush::loadtest

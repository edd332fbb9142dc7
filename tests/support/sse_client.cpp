#include "tests/support/sse_client.hpp"

#include <algorithm>
#include <cctype>

namespace newspush::test {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

SseClient::SseClient(std::uint16_t port, const std::string& target,
                     std::vector<std::pair<std::string, std::string>> headers, int receive_buffer)
    : tcp_(std::make_unique<RawTcp>(port, std::string(), receive_buffer)) {
  send_request(target, headers);
}

SseClient::SseClient(const TlsClientOptions& tls, std::uint16_t port, const std::string& target,
                     std::vector<std::pair<std::string, std::string>> headers)
    : tcp_(std::make_unique<TlsConnection>(port, tls)) {
  send_request(target, headers);
}

void SseClient::send_request(const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  tcp_->send(request);
}

std::optional<int> SseClient::status(std::chrono::milliseconds timeout) {
  auto code = tcp_->read_status(timeout);
  if (!code) return std::nullopt;
  auto end = tcp_->received().find("\r\n\r\n");
  head_ = tcp_->received().substr(0, end + 2);
  parsed_ = end + 4;
  return code;
}

std::optional<std::string> SseClient::header(const std::string& name) const {
  std::string wanted = lower(name) + ":";
  std::size_t at = head_.find("\r\n");
  while (at != std::string::npos && at + 2 < head_.size()) {
    std::size_t end = head_.find("\r\n", at + 2);
    std::string line = head_.substr(at + 2, end - at - 2);
    if (lower(line.substr(0, wanted.size())) == wanted) {
      std::string value = line.substr(wanted.size());
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      return value;
    }
    at = end;
  }
  return std::nullopt;
}

std::optional<SseEvent> SseClient::parse_buffered() {
  const std::string& buffer = tcp_->received();
  while (true) {
    auto end = buffer.find("\n\n", parsed_);
    if (end == std::string::npos) return std::nullopt;
    std::string block = buffer.substr(parsed_, end - parsed_);
    parsed_ = end + 2;
    SseEvent event;
    bool has_data = false;
    std::size_t start = 0;
    while (start <= block.size()) {
      std::size_t stop = block.find('\n', start);
      if (stop == std::string::npos) stop = block.size();
      std::string line = block.substr(start, stop - start);
      start = stop + 1;
      if (line.empty()) continue;
      if (line.front() == ':') {
        ++comments_;
        continue;
      }
      auto colon = line.find(':');
      std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (field == "event") event.type = value;
      else if (field == "id") event.id = value;
      else if (field == "retry") retry_ = std::stol(value);
      else if (field == "data") {
        if (has_data) event.data += '\n';
        event.data += value;
        has_data = true;
      }
    }
    if (has_data) return event;  // as EventSource: a block without data dispatches nothing
  }
}

std::optional<SseEvent> SseClient::next(std::chrono::milliseconds timeout) {
  if (head_.empty() && !status(timeout)) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto event = parse_buffered()) return event;
    if (ended_) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    long n = tcp_->read_more(left);
    if (n == 0) ended_ = true;
    if (n < 0) return std::nullopt;
  }
}

std::optional<SseEvent> SseClient::next_of_type(const std::string& type,
                                                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto event = next(std::max(left, std::chrono::milliseconds(1)));
    if (!event || event->type == type) return event;
    if (left.count() <= 0) return std::nullopt;
  }
}

std::vector<SseEvent> SseClient::articles(std::size_t count, std::chrono::milliseconds timeout) {
  std::vector<SseEvent> out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto event = next_of_type("article", left);
    if (!event) break;
    out.push_back(std::move(*event));
  }
  return out;
}

}  // namespace newspush::test

#include "tests/support/resuming_client.hpp"

#include <stdexcept>
#include <thread>

namespace newspush::test {

using nlohmann::json;

ResumingClient::ResumingClient(std::function<std::uint16_t()> pick_port,
                               std::vector<std::string> categories, WsClientOptions options)
    : pick_port_(std::move(pick_port)), categories_(std::move(categories)), options_(std::move(options)) {}

bool ResumingClient::connect() {
  std::uint16_t port = pick_port_();
  if (port == 0) return false;
  WsClientOptions options = options_;
  options.port = port;
  try {
    client_ = WsClient::connect(options);
  } catch (const std::exception&) {
    client_.reset();
    return false;
  }
  if (connects_++ > 0) ++reconnects_;
  recent_.push_back("-- connect to " + std::to_string(port) + " since " + cursor_);
  log_.push_back(recent_.back());
  json command = {{"op", "subscribe"}, {"categories", categories_}};
  if (!cursor_.empty()) command["since"] = cursor_;
  if (!client_->try_send_text(command.dump())) {
    client_.reset();
    return false;
  }
  return true;
}

void ResumingClient::handle(const json& event) {
  const std::string type = event.value("type", "");
  recent_.push_back(type + " " + event.value("cursor", "") +
                    (type == "article" ? " " + event["article"].value("id", "") : ""));
  log_.push_back(recent_.back());
  if (recent_.size() > 60) recent_.erase(recent_.begin());
  if (type == "article") {
    articles_.push_back(event);
  } else if (type == "retract") {
    retractions_.push_back(event);
  } else if (type == "reset") {
    ++resets_;
  } else if (type == "error") {
    throw std::runtime_error("server error: " + event.dump());
  }
  // Every message that carries a cursor moves the position: articles, retractions, resumed,
  // reset and the first subscribed.
  if (event.contains("cursor") && event["cursor"].is_string()) {
    if (type != "subscribed" || cursor_.empty()) cursor_ = event["cursor"];
  }
}

void ResumingClient::poll(std::chrono::milliseconds timeout) {
  if (!client_ && !connect()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // no node up: retry soon
    return;
  }
  // Bounded as a whole: a steady stream of events must not keep one poll going forever.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto event = client_->next_event(left);
    if (!event) break;
    handle(*event);
  }
  if (client_->closed()) {
    close_codes_.push_back(client_->close_code().value_or(0));
    log_.push_back("-- closed " + std::to_string(close_codes_.back()) + " " + client_->close_reason());
    client_.reset();
  }
}

bool ResumingClient::run_until(const std::function<bool()>& done,
                               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    poll();
  }
  return true;
}

std::vector<std::string> ResumingClient::article_ids() const {
  std::vector<std::string> ids;
  for (const auto& a : articles_) ids.push_back(a["article"]["id"]);
  return ids;
}

std::string ResumingClient::recent_log() const {
  std::string log;
  for (const auto& line : recent_) log += line + "\n";
  return log;
}

std::string ResumingClient::log_around(const std::string& article_id) const {
  std::size_t at = 0;
  while (at < log_.size() && !log_[at].ends_with(" " + article_id)) ++at;
  if (at == log_.size()) return "(" + article_id + " not in the log)\n";
  std::string out;
  for (std::size_t i = at > 40 ? at - 40 : 0; i < log_.size() && i < at + 20; ++i)
    out += (i == at ? "> " : "  ") + log_[i] + "\n";
  return out;
}

void ResumingClient::drop() {
  recent_.push_back("-- drop");
  log_.push_back(recent_.back());
  if (!client_) return;
  close_codes_.push_back(0);
  client_.reset();
}

}  // namespace newspush::test

#pragma once
// A client that behaves as the protocol asks resuming clients to: it remembers the cursor of the
// last event it received, and when its connection ends (1001 drain, 1013 slow consumer, a node
// killed) it connects again, possibly to another node, and subscribes with "since". Tests use it
// to check that every event arrives exactly once, in order, whatever happens in between.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/ws_client.hpp"

namespace newspush::test {

class ResumingClient {
 public:
  // pick_port is asked for a node each time the client (re)connects; 0 means none is up now.
  ResumingClient(std::function<std::uint16_t()> pick_port, std::vector<std::string> categories,
                 WsClientOptions options = {});

  // Reads what has arrived, reconnecting first if the connection is gone. Returns once `timeout`
  // passes without anything to do.
  void poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(50));
  // Polls until done() or the deadline; true if done() became true.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

  // Every "article" event received, in arrival order (duplicates included, so tests can see them).
  const std::vector<nlohmann::json>& articles() const { return articles_; }
  std::vector<std::string> article_ids() const;
  const std::vector<nlohmann::json>& retractions() const { return retractions_; }
  std::size_t resets() const { return resets_; }
  std::size_t reconnects() const { return reconnects_; }
  std::vector<std::uint16_t> close_codes() const { return close_codes_; }
  const std::string& cursor() const { return cursor_; }
  // The last messages of every type, oldest first, for failure messages.
  std::string recent_log() const;
  // The messages around the first article with this id (connects and closes included).
  std::string log_around(const std::string& article_id) const;
  bool connected() const { return client_ != nullptr; }
  WsClient* raw() { return client_.get(); }
  // Drops the connection without a close handshake (as a phone losing its network would).
  void drop();

 private:
  bool connect();
  void handle(const nlohmann::json& event);

  std::function<std::uint16_t()> pick_port_;
  std::vector<std::string> categories_;
  WsClientOptions options_;
  std::unique_ptr<WsClient> client_;
  std::string cursor_;
  std::vector<nlohmann::json> articles_;
  std::vector<nlohmann::json> retractions_;
  std::vector<std::uint16_t> close_codes_;
  std::size_t resets_ = 0;
  std::size_t reconnects_ = 0;
  std::size_t connects_ = 0;
  std::vector<std::string> recent_;
  std::vector<std::string> log_;  // every line of recent_, never trimmed
};

}  // namespace newspush::test

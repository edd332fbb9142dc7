#include "bridge/daemon/log_reader.hpp"

#include <charconv>
#include <utility>

#include "bridge/daemon/log.hpp"

namespace newspush::bridge {

namespace asio = boost::asio;
using redis::Reply;

namespace {

// "ms-seq" as a comparable pair; {0,0} when malformed.
std::pair<std::uint64_t, std::uint64_t> stream_id(const std::string& text) {
  std::pair<std::uint64_t, std::uint64_t> id{0, 0};
  auto dash = text.find('-');
  if (dash == std::string::npos) return id;
  std::from_chars(text.data(), text.data() + dash, id.first);
  std::from_chars(text.data() + dash + 1, text.data() + text.size(), id.second);
  return id;
}

const Reply* field(const Reply& flat, std::string_view name) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
    if (flat.elements[i].text == name) return &flat.elements[i + 1];
  return nullptr;
}

}  // namespace

LogReader::LogReader(asio::any_io_executor executor, redis::RedisCommandClient& commands,
                     redis::RedisCommandClient& blocking, Dispatcher& dispatcher,
                     BridgeMetrics& metrics, LogReaderOptions options)
    : executor_(executor),
      commands_(commands),
      blocking_(blocking),
      dispatcher_(dispatcher),
      metrics_(metrics),
      options_(std::move(options)),
      claim_timer_(executor),
      inspect_timer_(executor) {}

LogReader::~LogReader() { *alive_ = false; }

void LogReader::start() {
  ensure_group();
  inspect();
}

void LogReader::stop() {
  stopped_ = true;
  claim_timer_.cancel();
  inspect_timer_.cancel();
}

void LogReader::retry_later(void (LogReader::*step)()) {
  auto timer = std::make_shared<asio::steady_timer>(executor_, std::chrono::seconds(1));
  timer->async_wait(
      [this, alive = std::weak_ptr<bool>(alive_), timer, step](const boost::system::error_code&) {
        if (alive.expired() || stopped_) return;
        (this->*step)();
      });
}

void LogReader::ensure_group() {
  if (stopped_) return;
  commands_.command({"XGROUP", "CREATE", options_.log_key, options_.group, "$", "MKSTREAM"},
                    [this, alive = std::weak_ptr<bool>(alive_)](const Reply& reply) {
                      if (alive.expired()) return;
                      if (reply.is_error() && reply.text.find("BUSYGROUP") == std::string::npos) {
                        log_line(LogLevel::warn, "bridge_group_create_failed",
                                 "error=\"" + reply.text + "\"");
                        return retry_later(&LogReader::ensure_group);
                      }
                      if (!group_ready_)
                        log_line(LogLevel::info, "bridge_group_ready",
                                 "stream=" + options_.log_key + " group=" + options_.group +
                                     " consumer=" + options_.consumer);
                      group_ready_ = true;
                      // Before the first read moves the group's position past a gap, so that it is
                      // seen.
                      check_gap([this, alive] {
                        if (alive.expired()) return;
                        read();
                        claim();
                      });
                    });
}

void LogReader::resume() {
  if (!waiting_for_room_ || stopped_) return;
  waiting_for_room_ = false;
  read();
}

void LogReader::read() {
  if (stopped_ || reading_ || !group_ready_) return;
  if (!dispatcher_.has_room()) {
    waiting_for_room_ = true;  // backpressure: the queues are full
    return;
  }
  reading_ = true;
  blocking_.command({"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT",
                     std::to_string(options_.batch), "BLOCK",
                     std::to_string(options_.block.count()), "STREAMS", options_.log_key, ">"},
                    [this, alive = std::weak_ptr<bool>(alive_)](const Reply& reply) {
                      if (alive.expired()) return;
                      reading_ = false;
                      on_read(reply);
                    });
}

void LogReader::on_read(const Reply& reply) {
  if (stopped_) return;
  if (reply.is_error()) {
    if (reply.text.find("NOGROUP") != std::string::npos) {
      // The stream (and its group) was deleted: made again at its end.
      group_ready_ = false;
      log_line(LogLevel::warn, "bridge_group_missing", "stream=" + options_.log_key);
      return retry_later(&LogReader::ensure_group);
    }
    return retry_later(&LogReader::read);
  }
  // [[stream, [[id, [field, value, ...]], ...]]], or nil after BLOCK without news.
  for (const auto& stream : reply.elements)
    if (stream.elements.size() == 2)
      for (const auto& entry : stream.elements[1].elements) hand_over(entry, false);
  read();
}

void LogReader::hand_over(const Reply& entry, bool claimed) {
  if (entry.elements.size() != 2) return;
  const std::string& id = entry.elements[0].text;
  if (dispatcher_.is_active(id)) return;
  Dispatcher::Fields fields;
  const auto& flat = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2)
    fields.emplace_back(flat[i].text, flat[i + 1].text);
  if (claimed) ++metrics_.claimed;
  dispatcher_.handle_entry(id, fields);
}

void LogReader::claim() {
  if (stopped_ || !group_ready_) return;
  auto again = [this] {
    claim_timer_.expires_after(std::max(options_.claim_after / 4, std::chrono::milliseconds(100)));
    claim_timer_.async_wait(
        [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
          if (!ec && !alive.expired()) claim();
        });
  };
  // Ours first: what this bridge works on must not look idle to the others.
  auto active = dispatcher_.active_entries();
  if (!active.empty()) {
    std::vector<std::string> argv{"XCLAIM", options_.log_key, options_.group, options_.consumer,
                                  "0"};
    argv.insert(argv.end(), active.begin(), active.end());
    argv.push_back("JUSTID");
    commands_.command(argv, [](const Reply&) {});
  }
  if (!dispatcher_.has_room()) return again();
  commands_.command(
      {"XAUTOCLAIM", options_.log_key, options_.group, options_.consumer,
       std::to_string(options_.claim_after.count()), claim_cursor_, "COUNT",
       std::to_string(options_.batch)},
      [this, alive = std::weak_ptr<bool>(alive_), again](const Reply& reply) {
        if (alive.expired() || stopped_) return;
        // [next cursor, [[id, fields], ...], [deleted ids]] (Redis 7).
        if (reply.is_error() || reply.elements.size() < 2) return again();
        claim_cursor_ = reply.elements[0].text;
        for (const auto& entry : reply.elements[1].elements) {
          if (entry.elements.size() == 2 && entry.elements[1].type == Reply::Type::array)
            hand_over(entry, true);
        }
        if (reply.elements.size() >= 3 && !reply.elements[2].elements.empty()) {
          // Pending entries trimmed from the log before anyone finished them: XAUTOCLAIM already
          // dropped them from the pending list.
          metrics_.log_gaps += reply.elements[2].elements.size();
          log_line(LogLevel::warn, "bridge_log_gap",
                   "deleted_pending=" + std::to_string(reply.elements[2].elements.size()));
        }
        if (claim_cursor_ != "0-0") return claim();
        again();
      });
}

void LogReader::inspect() {
  if (stopped_) return;
  inspect_timer_.expires_after(std::chrono::seconds(1));
  inspect_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (!ec && !alive.expired()) inspect();
      });
  if (group_ready_) check_gap([] {});
}

void LogReader::check_gap(std::function<void()> then) {
  commands_.command({"XINFO", "GROUPS", options_.log_key}, [this,
                                                            alive = std::weak_ptr<bool>(alive_),
                                                            then](const Reply& groups) {
    if (alive.expired()) return;
    if (groups.is_error()) return then();
    std::string last_delivered;
    for (const auto& group : groups.elements) {
      const Reply* name = field(group, "name");
      if (!name || name->text != options_.group) continue;
      const Reply* lag = field(group, "lag");
      metrics_.lag = lag && lag->type == Reply::Type::integer ? lag->integer : -1;
      if (const Reply* last = field(group, "last-delivered-id")) last_delivered = last->text;
    }
    if (last_delivered.empty()) return then();
    // The first entry still in the log names its predecessor (field p): if the group has not
    // delivered that one, the entries between were trimmed unread.
    commands_.command(
        {"XRANGE", options_.log_key, "-", "+", "COUNT", "1"},
        [this, alive, last_delivered, then](const Reply& first) {
          if (alive.expired()) return;
          if (first.is_error() || first.elements.empty() || first.elements[0].elements.size() != 2)
            return then();
          const Reply* previous = field(first.elements[0].elements[1], "p");
          if (previous && previous->text != "0-0" && previous->text != last_gap_ &&
              stream_id(last_delivered) < stream_id(previous->text)) {
            last_gap_ = previous->text;
            ++metrics_.log_gaps;
            log_line(LogLevel::warn, "bridge_log_gap",
                     "group_position=" + last_delivered + " trimmed_through=" + previous->text);
          }
          then();
        });
  });
}

}  // namespace newspush::bridge

#include "server/history/history.hpp"

#include <boost/asio/post.hpp>

#include "newspush_lua.hpp"
#include "server/history/event_factory.hpp"

namespace newspush {

namespace asio = boost::asio;
using redis::Reply;

namespace {

constexpr std::size_t kReadPage = 1000;
// A client's replay reads small pages: stopping at its limits then wastes little.
constexpr std::size_t kClientReadPage = 100;
constexpr std::size_t kFieldsPerEntry = 5;  // cursor, kind, category, breaking, body

redis::RedisCommandClient::Options client_options(const HistoryOptions& options) {
  redis::RedisCommandClient::Options client;
  client.endpoint = options.endpoint;
  client.reply_timeout = options.reply_timeout;
  return client;
}

}  // namespace

History::History(asio::any_io_executor control, HistoryOptions options,
                 std::function<void(bool)> on_ready_change)
    : control_(control),
      options_(std::move(options)),
      client_(control, client_options(options_),
              [this](std::function<void(bool, std::string)> done) {
                setup(client_, std::move(done));
              },
              std::move(on_ready_change)) {
  if (options_.publish_replicas > 0) {
    auto publisher_options = client_options(options_);
    // WAIT holds the reply up to publish_replicas_timeout: that is no hang.
    publisher_options.reply_timeout += options_.publish_replicas_timeout;
    publisher_ = std::make_unique<redis::RedisCommandClient>(
        control, publisher_options,
        [this](std::function<void(bool, std::string)> done) {
          setup(*publisher_, std::move(done));
        },
        nullptr);
  }
}

void History::start() {
  client_.start();
  if (publisher_) publisher_->start();
}

void History::stop() {
  client_.stop();
  if (publisher_) publisher_->stop();
}

void History::follow_primary(const std::string& primary, const std::string& why) {
  client_.follow_primary(primary, why);
  if (publisher_) publisher_->follow_primary(primary, why);
}

void History::setup(redis::RedisCommandClient& client, std::function<void(bool, std::string)> done) {
  // Loaded on every connect: a Redis that lost its data lost the library too.
  client.setup_command({"FUNCTION", "LOAD", "REPLACE", std::string(kNewspushLua)},
                  [this, &client, done](const Reply& loaded) {
                    if (loaded.is_error()) return done(false, "FUNCTION LOAD: " + loaded.text);
                    client.setup_command(
                          {"FCALL", "newspush_init", "1", options_.log_key,
                           std::to_string(options_.max_length),
                           std::to_string(std::chrono::milliseconds(options_.max_age).count()),
                           options_.events_channel},
                          [done](const Reply& init) {
                            if (init.is_error()) return done(false, "newspush_init: " + init.text);
                            done(true, {});
                          });
                  });
}

void History::fcall(const std::string& function, std::vector<std::string> args,
                    ReplyCallback callback) {
  std::vector<std::string> argv{"FCALL", function, "1", options_.log_key};
  for (auto& arg : args) argv.push_back(std::move(arg));
  client_.command(argv, std::move(callback));
}

void History::append_events(HistoryRead& result, const std::vector<Reply>& elements,
                            std::size_t first) {
  for (std::size_t i = first; i + kFieldsPerEntry <= elements.size(); i += kFieldsPerEntry) {
    auto built = build_history_event(elements[i].text, elements[i + 1].text, elements[i + 4].text,
                                     options_.max_article, options_.restricted);
    if (built.event) {
      result.bytes += built.event->frame.size();
      result.events.push_back(std::move(built.event));
    } else {
      ++result.invalid;
    }
  }
}

void History::read_after(const std::string& cursor, ReadCallback callback) {
  auto result = std::make_shared<HistoryRead>();
  if (cursor.empty()) {
    fcall("newspush_head", {}, [result, callback](const Reply& head) {
      // No epoch yet means the history was never initialised: not an answer to build on.
      result->ok = !head.is_error() && !head.text.empty();
      result->error = head.is_error() ? head.text : "history not initialised";
      result->head = head.text;
      callback(std::move(*result));
    });
    return;
  }
  read_page(result, cursor, std::nullopt, std::move(callback));
}

void History::read_page(std::shared_ptr<HistoryRead> result, std::string cursor,
                        std::optional<ReplayLimits> limits, ReadCallback callback) {
  std::size_t page = kReadPage;
  if (limits) {
    // One entry past the limit is enough to know it was passed.
    std::size_t left = limits->max_events + 1 - std::min(limits->max_events, result->events.size());
    page = std::min(kClientReadPage, left);
  }
  fcall("newspush_read", {cursor, std::to_string(page)},
        [this, result, limits, callback](const Reply& reply) {
          if (reply.is_error() || reply.type != Reply::Type::array || reply.elements.size() < 2) {
            result->ok = false;
            result->error = reply.is_error() ? reply.text : "unexpected reply to newspush_read";
            return callback(std::move(*result));
          }
          const std::string& status = reply.elements[0].text;
          result->head = reply.elements[1].text;
          if (status.starts_with("reset:")) {
            result->ok = true;
            result->reset_reason = status.substr(6);
            return callback(std::move(*result));
          }
          std::size_t before = reply.elements.size();
          append_events(*result, reply.elements, 2);
          if (limits && (result->events.size() + result->invalid > limits->max_events ||
                         result->bytes > limits->max_bytes)) {
            result->ok = true;
            result->reset_reason = kReplayTooLong;
            result->events.clear();
            return callback(std::move(*result));
          }
          if (status == "more" && before > 2) {
            // Continue after the last entry of this page, whether or not it was valid.
            std::string next = reply.elements[before - kFieldsPerEntry].text;
            return read_page(result, next, limits, callback);
          }
          result->ok = true;
          callback(std::move(*result));
        });
}

void History::post_read_after(std::string cursor, ReplayLimits limits,
                              asio::any_io_executor reply_to, ReadCallback callback) {
  asio::post(control_, [this, cursor = std::move(cursor), limits, reply_to, callback]() {
    auto reply = [reply_to, callback](HistoryRead result) {
      asio::post(reply_to, [callback, result = std::move(result)]() mutable {
        callback(std::move(result));
      });
    };
    if (cursor.empty()) return read_after(cursor, std::move(reply));
    read_page(std::make_shared<HistoryRead>(), cursor, limits, std::move(reply));
  });
}

void History::post_recent(std::string category, std::size_t limit, asio::any_io_executor reply_to,
                          ReadCallback callback) {
  asio::post(control_, [this, category = std::move(category), limit, reply_to, callback]() {
    fcall("newspush_recent", {category, std::to_string(limit)},
          [this, reply_to, callback](const Reply& reply) {
            HistoryRead result;
            if (reply.is_error() || reply.type != Reply::Type::array || reply.elements.empty()) {
              result.error = reply.is_error() ? reply.text : "unexpected reply to newspush_recent";
            } else {
              result.ok = true;
              result.head = reply.elements[0].text;
              append_events(result, reply.elements, 1);
            }
            asio::post(reply_to, [callback, result = std::move(result)]() mutable {
              callback(std::move(result));
            });
          });
  });
}

void History::replicated_write(const std::string& function, std::string argument,
                               ReplyCallback callback) {
  if (!publisher_) return fcall(function, {std::move(argument)}, std::move(callback));
  publisher_->command(
      {"FCALL", function, "1", options_.log_key, std::move(argument)},
      [this, callback](const Reply& written) {
        if (written.is_error()) return callback(written);
        // WAIT counts the replicas that hold everything this connection wrote so far: this
        // write, and (for a duplicate) the rewrite that follows the original in the stream.
        const int wanted = options_.publish_replicas;
        const auto timeout = options_.publish_replicas_timeout;
        publisher_->command(
            {"WAIT", std::to_string(wanted), std::to_string(timeout.count())},
            [callback, written, wanted, timeout](const Reply& waited) {
              if (waited.is_error()) return callback(waited);
              if (waited.type == Reply::Type::integer && waited.integer >= wanted)
                return callback(written);
              callback(Reply::error(
                  std::string(kNotReplicatedPrefix) + "applied on the primary but confirmed by " +
                  std::to_string(waited.integer) + " of " + std::to_string(wanted) +
                  " replicas within " + std::to_string(timeout.count()) +
                  " ms; it may still appear, or be lost if the primary fails now (retrying the "
                  "same request is safe)"));
            });
      });
}

void History::post_publish(std::string article_json, asio::any_io_executor reply_to,
                           ReplyCallback callback) {
  asio::post(control_, [this, json = std::move(article_json), reply_to, callback]() mutable {
    replicated_write("newspush_publish", std::move(json), [reply_to, callback](const Reply& reply) {
      asio::post(reply_to, [callback, reply] { callback(reply); });
    });
  });
}

void History::post_retract(std::string id, asio::any_io_executor reply_to, ReplyCallback callback) {
  asio::post(control_, [this, id = std::move(id), reply_to, callback]() mutable {
    replicated_write("newspush_retract", std::move(id), [reply_to, callback](const Reply& reply) {
      asio::post(reply_to, [callback, reply] { callback(reply); });
    });
  });
}

}  // namespace newspush

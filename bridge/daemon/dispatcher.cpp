#include "bridge/daemon/dispatcher.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bridge/daemon/log.hpp"
#include "protocol/article.hpp"

namespace newspush::bridge {

namespace asio = boost::asio;
using redis::Reply;

constexpr std::size_t kMaxArticleBytes = 1024 * 1024;
// The record and its expiry in one step: a set left without its TTL would stay forever.
constexpr const char* kRecordAcceptedScript =
    "redis.call('SADD', KEYS[1], ARGV[1]) redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1";

struct Dispatcher::Job {
  std::string entry_id;
  ArticleNotification article;
  std::vector<std::string> sources;  // set keys, in order; an id in an earlier one is skipped
  std::size_t source = 0;
  std::string cursor = "0";
  bool enumerating = true;
  bool fetching = false;
  bool cancelled = false;
  bool unfinished = false;      // never acknowledged here (a lookup failed, or the drain cut it)
  bool topics_queued = false;   // --fcm-topics: the topic sends were looked at
  std::size_t outstanding = 0;  // sends queued, in flight or waiting to retry
};

Dispatcher::Dispatcher(asio::any_io_executor executor, redis::RedisCommandClient& redis,
                       std::map<Platform, Provider*> providers, BridgeMetrics& metrics,
                       DispatcherOptions options)
    : executor_(std::move(executor)),
      redis_(redis),
      providers_(std::move(providers)),
      metrics_(metrics),
      options_(std::move(options)) {
  for (const auto& [platform, rate] : options_.rates) {
    if (rate == 0) continue;
    pacing_[platform] = std::make_unique<Pacing>(
        Pacing{RateLimiter(rate, RateLimiter::Clock::now()), asio::steady_timer(executor_)});
  }
}

Dispatcher::~Dispatcher() { *alive_ = false; }

bool Dispatcher::has_room() const {
  return !draining_ && queued_ < options_.max_queue && jobs_.size() < options_.max_jobs;
}

std::vector<std::string> Dispatcher::active_entries() const {
  std::vector<std::string> ids;
  for (const auto& [id, job] : jobs_) ids.push_back(id);
  return ids;
}

void Dispatcher::handle_entry(const std::string& entry_id, const Fields& fields) {
  if (jobs_.count(entry_id) || draining_) return;
  std::string kind, article_id, body;
  for (const auto& [name, value] : fields) {
    if (name == "k")
      kind = value;
    else if (name == "i")
      article_id = value;
    else if (name == "b")
      body = value;
  }
  if (kind == "retract") {
    // Cancels what this bridge still has queued, and tells the others through Redis: a job
    // checks the marker before each page.
    cancel_article(article_id);
    redis_.command({"SET", options_.keys.prefix + "retracted:" + article_id, "1", "EX",
                    std::to_string(options_.accepted_ttl.count())},
                   [](const Reply&) {});
    return acknowledge(entry_id, true);
  }
  if (kind != "article") return acknowledge(entry_id, true);  // update: never notifies again
  auto parsed = protocol::parse_article(body, kMaxArticleBytes);
  std::optional<ArticleNotification> notification;
  if (parsed.ok()) notification = notification_from_article(parsed.article);
  if (!notification) {
    log_line(LogLevel::warn, "bridge_entry_unreadable", "entry=" + entry_id);
    return acknowledge(entry_id, true);
  }
  auto job = std::make_shared<Job>();
  job->entry_id = entry_id;
  job->article = std::move(*notification);
  job->sources.push_back(options_.keys.category(job->article.category));
  job->sources.push_back(options_.keys.category("*"));
  if (job->article.breaking) job->sources.push_back(options_.keys.breaking());
  jobs_[entry_id] = job;
  fetch_page(job);
}

void Dispatcher::fetch_page(const std::shared_ptr<Job>& job) {
  if (!job->enumerating || job->fetching || job->cancelled || draining_ ||
      queued_ >= options_.max_queue)
    return;
  job->fetching = true;
  std::weak_ptr<bool> alive = alive_;
  redis_.command({"EXISTS", options_.keys.prefix + "retracted:" + job->article.id},
                 [this, alive, job](const Reply& retracted) {
                   if (alive.expired()) return;
                   if (retracted.is_error()) return page_failed(job, retracted.text);
                   if (retracted.integer == 1) {
                     job->fetching = false;
                     job->cancelled = true;
                     job->enumerating = false;
                     return maybe_complete(job);
                   }
                   queue_topics(job);
                   redis_.command({"SSCAN", job->sources[job->source], job->cursor, "COUNT",
                                   std::to_string(options_.page)},
                                  [this, alive, job](const Reply& reply) {
                                    if (alive.expired()) return;
                                    if (reply.is_error() || reply.elements.size() != 2)
                                      return page_failed(job, reply.text);
                                    std::vector<std::string> ids;
                                    for (const auto& element : reply.elements[1].elements)
                                      ids.push_back(element.text);
                                    on_page(job, reply.elements[0].text, std::move(ids));
                                  });
                 });
}

// Once per job, after the retraction check: the topics not already in the accepted set (a
// reclaimed entry does not send them again).
void Dispatcher::queue_topics(const std::shared_ptr<Job>& job) {
  if (!options_.fcm_topics || job->topics_queued) return;
  job->topics_queued = true;
  std::vector<std::string> topics{job->article.category};
  if (job->article.breaking && job->article.category != "breaking") topics.push_back("breaking");
  std::vector<std::string> argv{"SMISMEMBER", options_.keys.accepted(job->article.id)};
  for (const auto& topic : topics) argv.push_back("/topics/" + topic);
  ++job->outstanding;  // held while the accepted set is read
  redis_.command(argv, [this, alive = std::weak_ptr<bool>(alive_), job,
                        topics](const Reply& reply) {
    if (alive.expired()) return;
    bool known = !reply.is_error() && reply.elements.size() == topics.size();
    if (reply.is_error()) {
      // As for a failed device lookup: left pending, so whoever claims it sends the topics.
      job->enumerating = false;
      job->unfinished = true;
    }
    for (std::size_t i = 0; known && i < topics.size(); ++i) {
      if (reply.elements[i].integer == 1) {
        ++metrics_.sends_skipped_accepted;
        continue;
      }
      if (job->cancelled || draining_) break;
      Send send;
      send.job = job;
      send.device.device_id = "/topics/" + topics[i];
      send.device.platform = Platform::fcm;
      send.device.token = topics[i];
      send.device.fcm_topic = true;
      enqueue(std::move(send));
    }
    --job->outstanding;
    pump();
    maybe_complete(job);
  });
}

void Dispatcher::page_failed(const std::shared_ptr<Job>& job, const std::string& why) {
  log_line(LogLevel::warn, "bridge_page_failed",
           "entry=" + job->entry_id + " error=\"" + why + "\"");
  auto timer = std::make_shared<asio::steady_timer>(executor_, std::chrono::seconds(1));
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([this, alive, job, timer](const boost::system::error_code&) {
    if (alive.expired()) return;
    job->fetching = false;
    fetch_page(job);
    maybe_complete(job);
  });
}

void Dispatcher::on_page(const std::shared_ptr<Job>& job, std::string next_cursor,
                         std::vector<std::string> ids) {
  std::weak_ptr<bool> alive = alive_;
  // Earlier sources' members (they have it from there), then those that already accepted it.
  filter_new(job, std::move(ids), 0,
             [this, alive, job, next_cursor](std::vector<std::string> fresh) {
               if (alive.expired()) return;
               load_devices(job, std::move(fresh));
               job->cursor = next_cursor;
               if (job->cursor == "0") {
                 ++job->source;
                 if (job->source >= job->sources.size()) job->enumerating = false;
               }
               job->fetching = false;
               fetch_page(job);
               maybe_complete(job);
             });
}

void Dispatcher::filter_new(const std::shared_ptr<Job>& job, std::vector<std::string> ids,
                            std::size_t key, std::function<void(std::vector<std::string>)> done) {
  if (ids.empty()) return done({});
  bool accepted_set = key == job->source;
  if (key > job->source) return done(std::move(ids));
  std::string set = accepted_set ? options_.keys.accepted(job->article.id) : job->sources[key];
  std::vector<std::string> argv{"SMISMEMBER", set};
  argv.insert(argv.end(), ids.begin(), ids.end());
  std::weak_ptr<bool> alive = alive_;
  redis_.command(argv, [this, alive, job, ids, key, accepted_set, done](const Reply& reply) {
    if (alive.expired()) return;
    if (reply.is_error() || reply.elements.size() != ids.size()) {
      // Not knowing who has it already, send nobody: the same page is read again once Redis
      // answers (its cursor is not advanced), so a device is neither skipped nor served twice.
      return page_failed(job, reply.is_error() ? reply.text : "unexpected SMISMEMBER reply");
    }
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (reply.elements[i].integer == 0)
        kept.push_back(ids[i]);
      else if (accepted_set)
        ++metrics_.sends_skipped_accepted;
    }
    filter_new(job, std::move(kept), key + 1, done);
  });
}

void Dispatcher::load_devices(const std::shared_ptr<Job>& job, std::vector<std::string> ids) {
  std::weak_ptr<bool> alive = alive_;
  for (const auto& id : ids) {
    ++job->outstanding;  // held while the device is read
    redis_.command({"HGETALL", options_.keys.device(id)},
                   [this, alive, job, id](const Reply& reply) {
                     if (alive.expired()) return;
                     std::optional<Device> device;
                     if (!reply.is_error()) {
                       std::vector<std::pair<std::string, std::string>> fields;
                       for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
                         fields.emplace_back(reply.elements[i].text, reply.elements[i + 1].text);
                       device = device_from_fields(id, fields);
                     } else {
                       // The entry stays pending (never acknowledged while a lookup failed):
                       // claimed later.
                       job->enumerating = false;
                       job->unfinished = true;
                     }
                     if (!device || job->cancelled || draining_) {
                       --job->outstanding;
                       return maybe_complete(job);
                     }
                     Send send;
                     send.job = job;
                     send.device = DeviceTarget{device->id, device->platform, device->token,
                                                device->subscription, device->locale};
                     --job->outstanding;
                     enqueue(std::move(send));
                     pump();
                   });
  }
}

void Dispatcher::enqueue(Send send) {
  ++send.job->outstanding;
  ++queued_;
  metrics_.queued = queued_;
  queues_[send.device.platform].push_back(std::move(send));
}

void Dispatcher::pump() {
  for (auto& [platform, queue] : queues_) {
    auto provider = providers_.find(platform);
    while (!queue.empty()) {
      if (provider == providers_.end() || !provider->second) {
        Send send = std::move(queue.front());
        queue.pop_front();
        --queued_;
        SendResult result;
        result.outcome = SendOutcome::rejected;
        result.reason = "platform_not_configured";
        dead_letter(send, result, result.reason);
        settle(send.job);
        continue;
      }
      if (provider->second->capacity() == 0) break;
      if (!take_token(platform)) break;
      Send send = std::move(queue.front());
      queue.pop_front();
      --queued_;
      ++in_flight_;
      std::weak_ptr<bool> alive = alive_;
      const ArticleNotification& article = send.job->article;
      DeviceTarget device = send.device;
      provider->second->send(article, device, [this, alive, send](SendResult result) mutable {
        if (alive.expired()) return;
        --in_flight_;
        metrics_.in_flight = in_flight_;
        on_result(std::move(send), std::move(result));
      });
    }
  }
  metrics_.queued = queued_;
  metrics_.in_flight = in_flight_;
  refill();
}

bool Dispatcher::take_token(Platform platform) {
  auto found = pacing_.find(platform);
  if (found == pacing_.end()) return true;
  Pacing& pacing = *found->second;
  auto now = RateLimiter::Clock::now();
  if (pacing.limiter.try_take(now)) return true;
  if (pacing.waiting) return false;  // the timer already set pumps for this provider too
  ++metrics_.rate_limit_waits;
  pacing.waiting = true;
  pacing.timer.expires_at(pacing.limiter.next_token(now));
  pacing.timer.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_), platform](const boost::system::error_code&) {
        if (alive.expired()) return;
        pacing_[platform]->waiting = false;
        if (!draining_) pump();
      });
  return false;
}

void Dispatcher::on_result(Send send, SendResult result) {
  std::string platform(to_string(send.device.platform));
  if (result.latency.count() > 0)
    metrics_.observe_latency(platform, std::chrono::duration<double>(result.latency).count());
  auto job = send.job;
  switch (result.outcome) {
    case SendOutcome::accepted:
      ++metrics_.sent[platform];
      ++job->outstanding;  // until recorded
      record_accepted(job, send.device.device_id);
      break;
    case SendOutcome::dead_token: {
      if (send.device.fcm_topic) {
        ++metrics_.failed[{platform, "topic_not_found"}];
        dead_letter(send, result, "topic_not_found: " + result.reason);
        break;
      }
      ++metrics_.failed[{platform, result.reason.empty() ? "dead_token" : result.reason}];
      const std::string& address =
          send.device.platform == Platform::webpush ? send.device.subscription : send.device.token;
      redis_.command(device_dead_command(options_.keys, send.device.device_id, address),
                     [this, alive = std::weak_ptr<bool>(alive_),
                      id = send.device.device_id](const Reply& reply) {
                       if (alive.expired() || reply.is_error() || reply.integer != 1) return;
                       ++metrics_.dead_tokens_removed;
                       log_line(LogLevel::info, "bridge_dead_token_removed", "device=" + id);
                     });
      break;
    }
    case SendOutcome::rejected:
      ++metrics_.failed[{platform, result.reason.empty() ? "rejected" : result.reason}];
      dead_letter(send, result, result.reason);
      break;
    case SendOutcome::retry: {
      ++send.attempts;
      if (send.attempts >= options_.max_attempts) {
        ++metrics_.failed[{platform, "retries_exhausted"}];
        dead_letter(send, result, "retries_exhausted: " + result.reason);
        break;
      }
      if (draining_) job->unfinished = true;  // left pending for whoever claims the entry
      if (draining_ || job->cancelled) break;
      ++metrics_.retries[platform];
      // Exponential with full jitter in [d/2, d], never sooner than the provider asked.
      auto cap = options_.retry_cap.count();
      long long d = options_.retry_initial.count();
      for (std::size_t i = 1; i < send.attempts && d < cap; ++i) d *= 2;
      d = std::min<long long>(d, cap);
      std::uniform_int_distribution<long long> jitter(d / 2, d);
      auto delay = std::chrono::milliseconds(jitter(random_));
      if (result.retry_after && *result.retry_after > delay) delay = *result.retry_after;
      ++retry_waiting_;
      auto timer = std::make_shared<asio::steady_timer>(executor_, delay);
      std::erase_if(retry_timers_, [](const auto& weak) { return weak.expired(); });
      retry_timers_.push_back(timer);
      timer->async_wait([this, alive = std::weak_ptr<bool>(alive_), timer,
                         send = std::move(send)](const boost::system::error_code&) mutable {
        if (alive.expired()) return;
        --retry_waiting_;
        auto waiting_job = send.job;
        if (waiting_job->cancelled || draining_) {
          if (waiting_job->cancelled)
            ++metrics_.sends_cancelled;
          else
            waiting_job->unfinished = true;
          settle(waiting_job);
          return pump();
        }
        --waiting_job->outstanding;  // enqueue counts it again
        enqueue(std::move(send));
        pump();
      });
      return pump();
    }
  }
  settle(job);
  pump();
}

// The record is what makes a re-delivered entry skip this device, so it is not given up when
// Redis is away: retried every second, and the job (its acknowledgement too) waits for it.
void Dispatcher::record_accepted(const std::shared_ptr<Job>& job, const std::string& device_id) {
  std::string key = options_.keys.accepted(job->article.id);
  redis_.command({"EVAL", kRecordAcceptedScript, "1", key, device_id,
                  std::to_string(options_.accepted_ttl.count())},
                 [this, alive = std::weak_ptr<bool>(alive_), job, device_id](const Reply& added) {
    if (alive.expired()) return;
    if (added.is_error()) {
      auto timer = std::make_shared<asio::steady_timer>(executor_, std::chrono::seconds(1));
      timer->async_wait([this, alive, job, device_id, timer](const boost::system::error_code&) {
        if (alive.expired()) return;
        record_accepted(job, device_id);
      });
      return;
    }
    settle(job);
  });
}

void Dispatcher::dead_letter(const Send& send, const SendResult& result,
                             const std::string& reason) {
  ++metrics_.dead_letters;
  log_line(LogLevel::warn, "bridge_dead_letter",
           "article=" + send.job->article.id + " device=" + send.device.device_id + " reason=\"" +
               reason + "\"");
  redis_.command(
      {"XADD", options_.keys.dead_letters(), "MAXLEN", "~", "100000", "*", "article",
       send.job->article.id, "device", send.device.device_id, "platform",
       std::string(to_string(send.device.platform)), "status", std::to_string(result.http_status),
       "reason", reason, "entry", send.job->entry_id},
      [](const Reply&) {});
}

void Dispatcher::settle(const std::shared_ptr<Job>& job) {
  --job->outstanding;
  maybe_complete(job);
}

void Dispatcher::maybe_complete(const std::shared_ptr<Job>& job) {
  if (job->outstanding > 0 || job->fetching) return check_drained();
  if (job->enumerating && !draining_) return;  // more pages to come
  auto found = jobs_.find(job->entry_id);
  if (found == jobs_.end() || found->second != job) return check_drained();
  bool complete = !job->enumerating && !job->unfinished;
  jobs_.erase(found);
  // A job cut short by the drain, or whose device lookup failed, stays pending: whoever claims
  // it skips the devices that accepted.
  if (complete) acknowledge(job->entry_id, false);
  check_drained();
  refill();
}

void Dispatcher::acknowledge(const std::string& entry_id, bool skipped) {
  if (skipped) ++metrics_.entries_skipped;
  send_ack(entry_id);
}

// An XACK lost with the connection would leave a finished entry pending until it is claimed and
// gone through again: retried every second until Redis answers (a missing group has no pending
// entries left to acknowledge).
void Dispatcher::send_ack(const std::string& entry_id) {
  redis_.command(
      {"XACK", options_.log_key, options_.group, entry_id},
      [this, alive = std::weak_ptr<bool>(alive_), entry_id](const Reply& reply) {
        if (alive.expired()) return;
        if (!reply.is_error()) {
          ++metrics_.entries_acked;
          return;
        }
        if (reply.text.find("NOGROUP") != std::string::npos) return;
        auto timer = std::make_shared<asio::steady_timer>(executor_, std::chrono::seconds(1));
        timer->async_wait([this, alive, entry_id, timer](const boost::system::error_code&) {
          if (alive.expired()) return;
          send_ack(entry_id);
        });
      });
}

void Dispatcher::cancel_article(const std::string& article_id) {
  for (auto& [entry, job] : jobs_) {
    if (job->article.id != article_id) continue;
    job->cancelled = true;
    job->enumerating = false;
  }
  for (auto& [platform, queue] : queues_) {
    std::deque<Send> kept;
    for (auto& send : queue) {
      if (send.job->cancelled) {
        --queued_;
        ++metrics_.sends_cancelled;
        --send.job->outstanding;
      } else {
        kept.push_back(std::move(send));
      }
    }
    queue.swap(kept);
  }
  metrics_.queued = queued_;
  std::vector<std::shared_ptr<Job>> cancelled;
  for (auto& [entry, job] : jobs_)
    if (job->cancelled) cancelled.push_back(job);
  for (auto& job : cancelled) maybe_complete(job);
}

void Dispatcher::refill() {
  if (draining_ || queued_ >= options_.max_queue) return;
  std::vector<std::shared_ptr<Job>> jobs;
  for (auto& [entry, job] : jobs_) jobs.push_back(job);
  for (auto& job : jobs) fetch_page(job);
  if (has_room() && on_room_) asio::post(executor_, on_room_);
}

void Dispatcher::drain(std::function<void()> done) {
  draining_ = true;
  drained_ = std::move(done);
  for (auto& [platform, queue] : queues_) {
    for (auto& send : queue) {
      --queued_;
      send.job->unfinished = true;  // not acknowledged: another bridge finishes it
      --send.job->outstanding;
    }
    queue.clear();
  }
  for (auto& weak : retry_timers_)
    if (auto timer = weak.lock()) timer->cancel();
  for (auto& [platform, pacing] : pacing_) pacing->timer.cancel();
  retry_timers_.clear();
  std::vector<std::shared_ptr<Job>> jobs;
  for (auto& [entry, job] : jobs_) jobs.push_back(job);
  for (auto& job : jobs) maybe_complete(job);
  check_drained();
}

void Dispatcher::check_drained() {
  if (!draining_ || !drained_ || in_flight_ > 0 || retry_waiting_ > 0) return;
  for (auto& [entry, job] : jobs_)
    if (job->outstanding > 0 || job->fetching) return;
  auto done = std::move(drained_);
  drained_ = nullptr;
  // Ordered after every SADD and XACK sent so far on the same connection.
  redis_.command({"PING"}, [done](const Reply&) { done(); });
}

}  // namespace newspush::bridge

#include "loadtest/publisher.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace newspush::loadtest {
namespace {

using Clock = std::chrono::steady_clock;

redisContext* connect_to(const RedisEndpoint& redis) {
  const timeval timeout{2, 0};
  redisContext* context = redisConnectWithTimeout(redis.host.c_str(), redis.port, timeout);
  if (context == nullptr) return nullptr;
  if (context->err != 0) {
    redisFree(context);
    return nullptr;
  }
  return context;
}

}  // namespace

Publisher::Publisher(RedisEndpoint redis, std::string channel, unsigned article_bytes)
    : redis_(std::move(redis)), channel_(std::move(channel)), article_bytes_(article_bytes) {}

Publisher::~Publisher() {
  stop();
  if (context_ != nullptr) redisFree(static_cast<redisContext*>(context_));
}

void Publisher::start() {
  context_ = connect_to(redis_);
  if (context_ == nullptr) throw std::runtime_error("cannot connect to " + to_url(redis_));
  thread_ = std::thread([this] { run(); });
}

void Publisher::set_rates(double articles_per_second, double breaking_per_second) {
  std::lock_guard lock(rates_mutex_);
  rate_ = articles_per_second;
  breaking_rate_ = breaking_per_second;
  ++rates_generation_;
}

void Publisher::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Publisher::published_total() const {
  std::uint64_t total = 0;
  for (const auto& count : published_) total += count.load();
  return total;
}

bool Publisher::publish(unsigned stream, unsigned category) {
  if (context_ == nullptr) {
    context_ = connect_to(redis_);
    if (context_ == nullptr) return false;
  }
  auto* context = static_cast<redisContext*>(context_);
  const ArticleMarks marks{
      stream, published_[stream].load(),
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count()};
  const std::string article = make_article(marks, category, article_bytes_);
  auto* reply = static_cast<redisReply*>(redisCommand(
      context, "PUBLISH %b %b", channel_.data(), channel_.size(), article.data(), article.size()));
  if (reply == nullptr) {  // connection broken: reconnect on the next article
    redisFree(context);
    context_ = nullptr;
    return false;
  }
  const bool ok = reply->type == REDIS_REPLY_INTEGER;
  if (ok && reply->integer == 0) ++unheard_;
  freeReplyObject(reply);
  if (ok) ++published_[stream];
  return ok;
}

void Publisher::run() {
  std::uint64_t generation = ~0ull;
  double rate = 0, breaking_rate = 0;
  Clock::time_point next_article, next_breaking;
  unsigned next_category = 0, next_breaking_category = 0;
  while (!stopping_) {
    const auto now = Clock::now();
    {
      std::lock_guard lock(rates_mutex_);
      if (generation != rates_generation_) {
        generation = rates_generation_;
        rate = rate_;
        breaking_rate = breaking_rate_;
        next_article = next_breaking = now;
      }
    }
    const bool articles_due = rate > 0 && next_article <= now;
    const bool breaking_due = breaking_rate > 0 && next_breaking <= now;
    if (!articles_due && !breaking_due) {
      auto wake = now + std::chrono::milliseconds(10);  // also notices new rates soon enough
      if (rate > 0) wake = std::min(wake, next_article);
      if (breaking_rate > 0) wake = std::min(wake, next_breaking);
      std::this_thread::sleep_until(wake);
      continue;
    }
    // Whichever is further behind goes first; both schedules stay evenly paced.
    if (articles_due && (!breaking_due || next_article <= next_breaking)) {
      if (!publish(next_category, next_category)) ++errors_;
      next_category = (next_category + 1) % kCategories.size();
      next_article +=
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
    } else {
      if (!publish(kBreakingStream, next_breaking_category)) ++errors_;
      next_breaking_category = (next_breaking_category + 1) % kCategories.size();
      next_breaking += std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / breaking_rate));
    }
  }
}

}  // namespace newspush::loadtest

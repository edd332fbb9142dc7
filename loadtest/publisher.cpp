#include "loadtest/publisher.hpp"

#include <algorithm>
#include <chrono>

namespace newspush::loadtest {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

Publisher::Publisher(std::unique_ptr<PublishSink> sink, unsigned article_bytes)
    : sink_(std::move(sink)), article_bytes_(article_bytes) {}

Publisher::~Publisher() { stop(); }

void Publisher::start() {
  sink_->connect();
  thread_ = std::thread([this] { run(); });
}

void Publisher::set_rates(double articles_per_second, double breaking_per_second) {
  std::lock_guard lock(rates_mutex_);
  rate_ = articles_per_second;
  breaking_rate_ = breaking_per_second;
  ++rates_generation_;
}

void Publisher::pause() {
  std::uint64_t generation;
  {
    std::lock_guard lock(rates_mutex_);
    rate_ = breaking_rate_ = 0;
    generation = ++rates_generation_;
  }
  // The thread takes up new rates between articles, and wakes at least every 10 ms.
  while (thread_.joinable() && !stopping_ && applied_generation_.load() != generation) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
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
  const ArticleMarks marks{
      stream, published_[stream].load(),
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count()};
  const std::string article = make_article(marks, category, article_bytes_);
  const auto outcome = sink_->publish(stream, article);
  if (outcome == PublishSink::Outcome::failed) return false;
  if (outcome == PublishSink::Outcome::unheard) ++unheard_;
  ++published_[stream];
  return true;
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
        applied_generation_ = generation;
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

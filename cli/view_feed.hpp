#pragma once
// Synthetic reader views for `newspush demo-feed --views-url`: POSTs batches of views of the
// articles the feed published recently to newspushd's POST /api/v1/views, with a popularity that
// is skewed (a few stories get most views) and shifts over time, so that the trending lists of
// the demo reorder while one watches.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace newspush::cli {

struct ViewFeedOptions {
  std::string url;  // http://HOST:PORT/api/v1/views
  std::string key;  // Bearer publish key
  std::uint64_t views_per_second = 40;
};

class ViewFeed {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ViewFeed(ViewFeedOptions options);
  ~ViewFeed();
  ViewFeed(const ViewFeed&) = delete;
  ViewFeed& operator=(const ViewFeed&) = delete;

  // An article the feed just published: from now on it draws views.
  void add_article(std::string id, std::string title);

  // When the next batch is due (about every second).
  Clock::time_point next_batch_at() const { return next_batch_at_; }
  // Sends the batch if it is due. Never throws on network or HTTP failures: they are counted
  // and reported now and then, and the next batch simply tries again.
  void send_if_due();
  // One line with the views sent so far, for the end of a --count run.
  void print_totals() const;

 private:
  struct Story {
    std::string id;
    std::string title;
    Clock::time_point published;
    double appeal;  // how much readers want it, before it ages
  };
  struct Totals {
    std::uint64_t batches = 0;
    std::uint64_t sent = 0;
    std::uint64_t counted = 0;
    std::uint64_t unknown = 0;
  };

  std::vector<double> popularity(Clock::time_point now) const;
  void maybe_revive_a_story(Clock::time_point now);
  std::string make_batch(Clock::time_point now, std::size_t views);
  void post(const std::string& body, std::size_t views);
  void report_failure(const std::string& what);
  void report_progress(Clock::time_point now);

  ViewFeedOptions options_;
  struct Http;  // the libcurl handle and headers
  std::unique_ptr<Http> http_;
  std::mt19937 random_;
  std::deque<Story> stories_;  // oldest first
  Clock::time_point last_batch_at_;
  Clock::time_point next_batch_at_;
  Clock::time_point next_revival_at_;
  Totals totals_;
  Totals reported_;  // totals_ at the last progress line
  Clock::time_point last_progress_at_;
  std::uint64_t failures_ = 0;  // batches failed in a row
  Clock::time_point last_failure_report_at_;
};

}  // namespace newspush::cli

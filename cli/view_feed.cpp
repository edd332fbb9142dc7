#include "cli/view_feed.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "cli/commands.hpp"

#ifndef NEWSPUSH_VERSION
#error "NEWSPUSH_VERSION must be defined by the build"
#endif

namespace newspush::cli {

namespace {

using namespace std::chrono_literals;

// The feed only sends views for its latest stories; older ones get none and cool down in the
// server's decayed scores, which is what makes room for new ones in the lists.
constexpr std::size_t kMaxStories = 30;
// Readers come for a full front page: until it holds this many stories, only a share of the
// views is sent. Otherwise the very first stories, alone on the page, would pile up scores that
// later ones could not catch up with for a long time.
constexpr std::size_t kFullFrontPage = 12;
// Readers lose interest: a story's share of the views halves every this long after it came out.
constexpr double kFadeHalfLifeSeconds = 30;
// About one new story in five is a scoop: it starts far above the others and tops the lists.
constexpr double kScoopChance = 0.2;
constexpr double kScoopFactor = 6;
// Now and then an older story resurfaces (shared widely, back in the news) and climbs again.
constexpr auto kMinRevivalGap = 6s;
constexpr auto kMaxRevivalGap = 12s;
constexpr double kRevivalFactor = 8;
constexpr auto kBatchPeriod = 1s;
constexpr std::size_t kMaxBatch = 1000;  // POST /api/v1/views takes at most 1000 entries
constexpr auto kProgressPeriod = 10s;
constexpr auto kFailureReportPeriod = 10s;
// Short, so that a server that is down or slow delays the article feed by little.
constexpr long kConnectTimeoutMs = 1000;
constexpr long kRequestTimeoutMs = 2000;

std::size_t append_to_string(char* data, std::size_t size, std::size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

double seconds_between(ViewFeed::Clock::time_point from, ViewFeed::Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// The first line of a server reply, shortened, for an error message.
std::string excerpt(const std::string& body) {
  std::string line = body.substr(0, body.find('\n'));
  if (line.size() > 160) line = line.substr(0, 160) + "...";
  return line;
}

}  // namespace

// libcurl's global state lives as long as the handle: curl_global_init is reference counted.
struct ViewFeed::Http {
  CURL* handle = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  Http() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("cannot initialize libcurl");
    }
    handle = curl_easy_init();
    if (!handle) {
      curl_global_cleanup();
      throw std::runtime_error("cannot initialize libcurl");
    }
  }
  ~Http() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(handle);
    curl_global_cleanup();
  }
};

ViewFeed::ViewFeed(ViewFeedOptions options)
    : options_(std::move(options)),
      http_(std::make_unique<Http>()),
      random_(std::random_device{}()) {
  CURL* handle = http_->handle;
  const std::string authorization = "Authorization: Bearer " + options_.key;
  http_->headers = curl_slist_append(http_->headers, "Content-Type: application/json");
  http_->headers = curl_slist_append(http_->headers, authorization.c_str());
  // One handle for every batch: libcurl keeps the connection to newspushd alive between them.
  curl_easy_setopt(handle, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, http_->headers);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "newspush-demo-feed/" NEWSPUSH_VERSION);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, http_->error);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, append_to_string);

  const auto now = Clock::now();
  last_batch_at_ = now;
  next_batch_at_ = now + kBatchPeriod;
  next_revival_at_ = now + kMaxRevivalGap;
  last_progress_at_ = now;
  last_failure_report_at_ = now;
}

ViewFeed::~ViewFeed() = default;

void ViewFeed::add_article(std::string id, std::string title) {
  // A publish retried after a lost connection reports the same id again: still one story.
  for (const Story& story : stories_) {
    if (story.id == id) return;
  }
  double appeal = std::lognormal_distribution<double>(0.0, 1.0)(random_);
  if (std::bernoulli_distribution(kScoopChance)(random_)) appeal *= kScoopFactor;
  stories_.push_back({std::move(id), std::move(title), Clock::now(), appeal});
  if (stories_.size() > kMaxStories) stories_.pop_front();
}

std::vector<double> ViewFeed::popularity(Clock::time_point now) const {
  std::vector<double> weights;
  weights.reserve(stories_.size());
  for (const Story& story : stories_) {
    const double age = seconds_between(story.published, now);
    weights.push_back(story.appeal * std::exp2(-age / kFadeHalfLifeSeconds));
  }
  return weights;
}

void ViewFeed::maybe_revive_a_story(Clock::time_point now) {
  if (now < next_revival_at_) return;
  const auto gap_ms = std::uniform_int_distribution<long long>(
      std::chrono::milliseconds(kMinRevivalGap).count(),
      std::chrono::milliseconds(kMaxRevivalGap).count())(random_);
  next_revival_at_ = now + std::chrono::milliseconds(gap_ms);
  // Only a story that has had time to cool down can make a visible comeback; the newest few
  // are left alone.
  const std::size_t candidates = stories_.size() > 3 ? stories_.size() - 3 : 0;
  if (candidates == 0) return;
  Story& story = stories_[std::uniform_int_distribution<std::size_t>(0, candidates - 1)(random_)];
  story.appeal *= kRevivalFactor;
}

std::string ViewFeed::make_batch(Clock::time_point now, std::size_t views) {
  const std::vector<double> weights = popularity(now);
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  nlohmann::json batch = nlohmann::json::array();
  for (std::size_t i = 0; i < views; ++i) {
    batch.push_back({{"article", stories_[pick(random_)].id}});
  }
  return batch.dump();
}

void ViewFeed::send_if_due() {
  const auto now = Clock::now();
  if (now < next_batch_at_) return;
  next_batch_at_ = now + kBatchPeriod;
  if (stories_.empty()) {
    last_batch_at_ = now;  // nothing published yet: nothing to view
    return;
  }
  maybe_revive_a_story(now);
  // Views for the time since the last batch, so the rate holds even when a batch is late.
  const double elapsed = seconds_between(last_batch_at_, now);
  last_batch_at_ = now;
  const double page_share =
      std::min(1.0, static_cast<double>(stories_.size()) / static_cast<double>(kFullFrontPage));
  const auto wanted = static_cast<std::size_t>(
      std::llround(static_cast<double>(options_.views_per_second) * page_share * elapsed));
  const std::size_t views = std::clamp<std::size_t>(wanted, 1, kMaxBatch);
  post(make_batch(now, views), views);
  report_progress(now);
}

void ViewFeed::post(const std::string& body, std::size_t views) {
  CURL* handle = http_->handle;
  std::string response;
  http_->error[0] = '\0';
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response);
  const CURLcode result = curl_easy_perform(handle);
  if (result != CURLE_OK) {
    report_failure(http_->error[0] != '\0' ? http_->error : curl_easy_strerror(result));
    return;
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    std::string what = "HTTP " + std::to_string(status);
    if (!response.empty()) what += ": " + excerpt(response);
    if (status == 401 || status == 403) {
      what += " (is --key one of newspushd's --publish-key?)";
    } else if (status == 404) {
      what += " (does this newspushd serve POST /api/v1/views?)";
    }
    report_failure(what);
    return;
  }

  ++totals_.batches;
  totals_.sent += views;
  const auto reply = nlohmann::json::parse(response, nullptr, /*allow_exceptions=*/false);
  if (reply.is_object()) {
    totals_.counted += reply.value("counted", std::uint64_t{0});
    totals_.unknown += reply.value("unknown", std::uint64_t{0});
  }
  if (failures_ > 0) {
    std::cerr << "[" << clock_now() << "] views: " << options_.url << " accepts them now (after "
              << failures_ << (failures_ == 1 ? " failed batch)" : " failed batches)") << std::endl;
    failures_ = 0;
  }
}

// The first failure is printed at once, later ones at most every kFailureReportPeriod, so that a
// server that is not up yet does not flood the terminal.
void ViewFeed::report_failure(const std::string& what) {
  ++failures_;
  const auto now = Clock::now();
  if (failures_ == 1) {
    std::cerr << "[" << clock_now() << "] views: POST " << options_.url << " failed: " << what
              << "; retrying every second" << std::endl;
  } else if (now - last_failure_report_at_ >= kFailureReportPeriod) {
    std::cerr << "[" << clock_now() << "] views: still failing (" << failures_
              << " batches so far): " << what << std::endl;
  } else {
    return;
  }
  last_failure_report_at_ = now;
}

void ViewFeed::report_progress(Clock::time_point now) {
  if (now - last_progress_at_ < kProgressPeriod) return;
  const double seconds = seconds_between(last_progress_at_, now);
  last_progress_at_ = now;
  const std::uint64_t sent = totals_.sent - reported_.sent;
  const std::uint64_t counted = totals_.counted - reported_.counted;
  const std::uint64_t unknown = totals_.unknown - reported_.unknown;
  reported_ = totals_;
  if (sent == 0) return;  // failing: report_failure speaks

  const std::vector<double> weights = popularity(now);
  double total = 0;
  for (double weight : weights) total += weight;
  const auto hottest = std::max_element(weights.begin(), weights.end()) - weights.begin();
  std::ostringstream line;
  line << "[" << clock_now() << "] views: " << sent << " in " << std::llround(seconds) << " s ("
       << counted << " counted, " << unknown
       << " unknown); hottest now: " << stories_[static_cast<std::size_t>(hottest)].title << " ("
       << std::llround(100 * weights[static_cast<std::size_t>(hottest)] / total) << "%)";
  std::cout << line.str() << std::endl;
}

void ViewFeed::print_totals() const {
  std::cout << "[" << clock_now() << "] views: " << totals_.sent << " sent in " << totals_.batches
            << (totals_.batches == 1 ? " batch (" : " batches (") << totals_.counted << " counted, "
            << totals_.unknown << " unknown)";
  if (failures_ > 0) {
    std::cout << "; " << failures_ << (failures_ == 1 ? " batch" : " batches")
              << " failed at the end";
  }
  std::cout << std::endl;
}

}  // namespace newspush::cli

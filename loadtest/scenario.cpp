#include "loadtest/scenario.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "common/redis_url.hpp"
#include "loadtest/publisher.hpp"

namespace newspush::loadtest {

Percentiles Percentiles::of(const LatencyHistogram& h) {
  return {h.percentile(0.5), h.percentile(0.9), h.percentile(0.99), h.percentile(0.999),
          h.max(),           h.mean(),          h.count()};
}

namespace {

using Clock = std::chrono::steady_clock;
using Streams = std::array<std::uint64_t, kStreams>;

FleetSettings fleet_settings(const Options& options) {
  FleetSettings settings;
  std::string_view url = options.url;
  // The scheme only separates the authority from the path: --transport decides how clients read.
  // --tls (or a wss:// / https:// URL, which sets it) decides whether TLS is spoken.
  if (url.starts_with("ws://")) {
    url.remove_prefix(5);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else if (url.starts_with("wss://")) {
    url.remove_prefix(6);
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else {
    throw std::runtime_error("--url must start with ws://, http://, wss:// or https://");
  }
  const auto slash = url.find('/');
  settings.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const auto authority = url.substr(0, slash);
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) throw std::runtime_error("--url needs HOST:PORT");
  settings.host = std::string(authority.substr(0, colon));
  settings.port = static_cast<std::uint16_t>(std::stoi(std::string(authority.substr(colon + 1))));
  settings.nchan = options.target == Target::nchan;
  settings.sse = options.transport == Transport::sse;
  settings.tls = options.tls;
  settings.tls_ca = options.tls_ca;
  if (settings.nchan && !settings.target.ends_with('/')) settings.target += '/';
  settings.connections = options.connections;
  settings.source_addresses = options.source_addresses;
  settings.categories_per_client = options.categories_per_client;
  settings.seed = options.seed;
  settings.threads = options.threads;
  settings.connect_rate = options.connect_rate;
  settings.slow_fraction = options.mode == Mode::slow ? options.slow_fraction : 0.0;
  settings.reconnect = options.mode == Mode::reconnect;
  return settings;
}

// Nchan's publisher prefix: --publish-url, or http://HOST:PORT/pub/ of --url.
std::string nchan_publish_url(const Options& options) {
  if (!options.publish_url.empty()) return options.publish_url;
  const auto settings = fleet_settings(options);
  return "http://" + settings.host + ":" + std::to_string(settings.port) + "/pub/";
}

std::unique_ptr<PublishSink> make_sink(const Options& options) {
  if (options.target == Target::nchan) return make_nchan_sink(nchan_publish_url(options));
  std::string error;
  const auto redis = parse_redis_url(options.redis, &error);
  if (!redis) throw std::runtime_error("--redis: " + error);
  return make_redis_sink(*redis, options.channel);
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

double ms(std::uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

class ScenarioRunner {
 public:
  explicit ScenarioRunner(const Options& options)
      : options_(options), fleet_(fleet_settings(options)) {
    record_.options = options;
    record_.started_at = utc_now();
  }

  RunRecord run() {
    record_.load_average_before = load_average();
    record_.file_limit = raise_file_limit();
    std::fprintf(stderr, "open files limit: %lu (hard %lu)\n", record_.file_limit.soft,
                 record_.file_limit.hard);
    if (options_.connections + 64 > record_.file_limit.soft) {
      std::fprintf(stderr, "warning: %u connections will not fit under the open files limit\n",
                   options_.connections);
    }
    if (options_.target == Target::nchan) record_.options.publish_url = nchan_publish_url(options_);
    publisher_.emplace(make_sink(options_), options_.article_bytes);
    if (options_.mode != Mode::idle) publisher_->start();
    start_ = Clock::now();
    last_server_ = server_sample();
    record_.server_rss_before_mb = last_server_ ? last_server_->rss_bytes / 1e6 : -1;

    connect_all();
    switch (options_.mode) {
      case Mode::idle:
        run_idle();
        break;
      case Mode::fixed:
        phase_ = "publish";
        record_.steps.push_back(run_step(options_.rate, options_.duration));
        break;
      case Mode::slow:
        run_slow();
        break;
      case Mode::ramp:
        run_ramp();
        break;
      case Mode::reconnect:
        run_reconnect();
        break;
    }
    publisher_->stop();
    fleet_.stop();
    finish();
    return std::move(record_);
  }

 private:
  std::optional<ProcessSample> server_sample() const {
    if (options_.server_pid == 0) return std::nullopt;
    return sample_process(options_.server_pid);
  }

  double now_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  // Moves the clients' receipts into the current second, step and run.
  void collect() {
    const IntervalTotals interval = fleet_.take_interval();
    second_.add(interval);
    step_.add(interval);
    overall_.merge(interval.latency);
  }

  void tick() {
    collect();
    SecondSample sample;
    sample.t = now_s();
    sample.phase = phase_;
    const double elapsed = sample.t - last_tick_t_;
    const std::uint64_t published = publisher_->published_total();
    sample.published_per_s = static_cast<double>(published - last_published_) / elapsed;
    sample.deliveries_per_s = static_cast<double>(second_.deliveries) / elapsed;
    sample.latency = Percentiles::of(second_.latency);
    sample.connections = fleet_.counts().subscribed_now;
    if (auto self = sample_process(getpid())) {
      if (last_self_) {
        sample.generator_cpu_percent =
            100.0 * (self->cpu_seconds - last_self_->cpu_seconds) / elapsed;
      }
      last_self_ = self;
    }
    if (auto server = server_sample()) {
      if (last_server_) {
        sample.server_cpu_percent =
            100.0 * (server->cpu_seconds - last_server_->cpu_seconds) / elapsed;
      }
      sample.server_rss_mb = server->rss_bytes / 1e6;
      last_server_ = server;
    }
    std::fprintf(stderr,
                 "[%5.1fs] %-10s conns=%-6llu pub=%-6.0f deliv/s=%-8.0f p50=%.2fms p99=%.2fms "
                 "max=%.2fms gen cpu=%.0f%%",
                 sample.t, phase_.c_str(), static_cast<unsigned long long>(sample.connections),
                 sample.published_per_s, sample.deliveries_per_s, ms(sample.latency.p50),
                 ms(sample.latency.p99), ms(sample.latency.max), sample.generator_cpu_percent);
    if (sample.server_rss_mb >= 0) {
      std::fprintf(stderr, " server cpu=%.0f%% rss=%.1fMB", sample.server_cpu_percent,
                   sample.server_rss_mb);
    }
    std::fprintf(stderr, "\n");
    record_.timeline.push_back(std::move(sample));
    second_ = IntervalTotals{};
    last_published_ = published;
    last_tick_t_ = now_s();
  }

  // Waits up to `seconds`, ticking every second; stops early once `done` returns true.
  bool wait(double seconds, const std::function<bool()>& done = {}) {
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(seconds));
    while (Clock::now() < until) {
      if (done && done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (now_s() - last_tick_t_ >= 1.0) tick();
    }
    return done && done();
  }

  void connect_all() {
    phase_ = "connect";
    const auto began = Clock::now();
    fleet_.start();
    const double limit = options_.connections / options_.connect_rate + 30;
    wait(limit, [&] {
      const auto counts = fleet_.counts();
      return counts.subscribed_now + counts.connect_failures >= options_.connections;
    });
    const auto counts = fleet_.counts();
    record_.subscribed = counts.subscribed_now;
    record_.connect_failures = counts.connect_failures;
    record_.connect_seconds = std::chrono::duration<double>(Clock::now() - began).count();
    record_.connects_per_s = static_cast<double>(record_.subscribed) / record_.connect_seconds;
    std::fprintf(stderr, "connected %llu of %u in %.2fs (%.0f/s), %llu failed\n",
                 static_cast<unsigned long long>(record_.subscribed), options_.connections,
                 record_.connect_seconds, record_.connects_per_s,
                 static_cast<unsigned long long>(record_.connect_failures));
    if (options_.target == Target::nchan && options_.mode != Mode::idle) await_nchan_channels();
    phase_ = "warmup";
    wait(options_.warmup);
    subscribers_ = fleet_.subscribers_per_stream();
  }

  // Nchan has no subscribe reply: a client counts as subscribed at the handshake, while Nchan may
  // still be subscribing in Redis. Waits (up to 10 s) until every channel reports at least the
  // clients that asked for it, so no article is published into a gap.
  void await_nchan_channels() {
    phase_ = "channels";
    const auto expected = fleet_.subscribers_per_stream();
    auto probe = make_sink(options_);
    probe->connect();
    Streams reported{};
    const bool ready = wait(10.0, [&] {
      for (unsigned s = 0; s < kStreams; ++s) {
        if (reported[s] >= expected[s]) continue;
        reported[s] = probe->subscribers(s).value_or(0);
        if (reported[s] < expected[s]) return false;
      }
      return true;
    });
    if (!ready) {
      std::fprintf(stderr, "warning: Nchan reports fewer subscribers than connected:");
      for (unsigned s = 0; s < kStreams; ++s) {
        std::fprintf(stderr, " %s %llu/%llu", std::string(stream_name(s)).c_str(),
                     static_cast<unsigned long long>(reported[s]),
                     static_cast<unsigned long long>(expected[s]));
      }
      std::fprintf(stderr, "\n");
    }
  }

  Streams published_now() const {
    Streams published{};
    for (unsigned s = 0; s < kStreams; ++s) published[s] = publisher_->published(s);
    return published;
  }

  std::uint64_t expected_since(const Streams& before) const {
    std::uint64_t expected = 0;
    for (unsigned s = 0; s < kStreams; ++s) {
      expected += (publisher_->published(s) - before[s]) * subscribers_[s];
    }
    return expected;
  }

  // Publishes at `rate` for `seconds` (calling `during` every tick), pauses, lets the deliveries
  // in flight arrive, and accounts for the step.
  StepResult run_step(double rate, double seconds, const std::function<void()>& during = {}) {
    StepResult result;
    result.rate = rate;
    result.breaking_rate = options_.breaking_rate;
    const Streams before = published_now();
    const auto cpu_before = server_sample();
    const auto self_before = sample_process(getpid());
    step_ = IntervalTotals{};
    const auto began = Clock::now();
    publisher_->set_rates(rate, options_.breaking_rate);
    wait(seconds, [&] {
      if (during) during();
      return false;
    });
    publisher_->pause();
    result.seconds = std::chrono::duration<double>(Clock::now() - began).count();
    const std::string phase = phase_;
    phase_ = "drain";
    wait(3.0, [&] {
      collect();
      return step_.unique >= expected_since(before);
    });
    phase_ = phase;
    result.published = publisher_->published_total();
    for (unsigned s = 0; s < kStreams; ++s) result.published -= before[s];
    result.expected = expected_since(before);
    result.delivered = step_.unique;
    result.lost = result.expected > step_.unique ? result.expected - step_.unique : 0;
    result.duplicates = step_.duplicates;
    result.out_of_order = step_.out_of_order;
    result.deliveries_per_s = static_cast<double>(step_.deliveries) / result.seconds;
    result.latency = Percentiles::of(step_.latency);
    // CPU shares over the whole step, drain included: near 100% that process was the limit.
    const double wall = std::chrono::duration<double>(Clock::now() - began).count();
    if (const auto self_after = sample_process(getpid()); self_before && self_after) {
      result.generator_cpu_percent =
          100.0 * (self_after->cpu_seconds - self_before->cpu_seconds) / wall;
    }
    if (const auto cpu_after = server_sample(); cpu_before && cpu_after) {
      result.server_cpu_seconds = cpu_after->cpu_seconds - cpu_before->cpu_seconds;
      result.server_cpu_percent = 100.0 * result.server_cpu_seconds / wall;
      if (step_.deliveries > 0) {
        result.server_cpu_s_per_million =
            result.server_cpu_seconds / (static_cast<double>(step_.deliveries) / 1e6);
      }
    }
    result.passed = result.lost == 0 && result.duplicates == 0 && result.out_of_order == 0 &&
                    result.published > 0 && ms(result.latency.p99) < options_.p99_target_ms;
    return result;
  }

  void run_idle() {
    phase_ = "idle";
    wait(options_.duration);
    if (auto server = server_sample()) {
      record_.server_rss_after_mb = server->rss_bytes / 1e6;
      if (record_.subscribed > 0 && record_.server_rss_before_mb >= 0) {
        record_.server_bytes_per_connection =
            (record_.server_rss_after_mb - record_.server_rss_before_mb) * 1e6 /
            static_cast<double>(record_.subscribed);
      }
    }
  }

  void run_slow() {
    phase_ = "slow";
    record_.steps.push_back(run_step(options_.rate, options_.duration));
    // Slow clients read again, so the way the server ended them (1013 or slow_consumer expected)
    // becomes visible.
    phase_ = "slow-drain";
    fleet_.resume_slow_readers();
    const auto slow_clients =
        static_cast<std::uint64_t>(options_.connections * options_.slow_fraction);
    wait(15.0, [&] { return fleet_.counts().closes >= slow_clients; });
  }

  void run_ramp() {
    int index = 0;
    for (double rate = options_.rate; rate <= options_.max_rate + 1e-9;
         rate += options_.ramp_step, ++index) {
      phase_ = "step " + std::to_string(index + 1);
      StepResult step = run_step(rate, options_.step_seconds);
      std::fprintf(stderr,
                   "step %d: %.0f articles/s -> %.0f deliveries/s, p99 %.2f ms, lost %llu: %s\n",
                   index + 1, rate, step.deliveries_per_s, ms(step.latency.p99),
                   static_cast<unsigned long long>(step.lost), step.passed ? "pass" : "FAIL");
      record_.steps.push_back(step);
      if (step.passed &&
          (record_.best_step < 0 ||
           step.deliveries_per_s > record_.steps[record_.best_step].deliveries_per_s)) {
        record_.best_step = index;
      }
      if (!step.passed) break;
    }
  }

  void run_reconnect() {
    phase_ = "reconnect";
    const auto subscribed = fleet_.counts().subscribed_now;
    const double began = now_s();
    std::optional<Clock::time_point> signalled;
    const auto all_back = [&] {
      if (!signalled || record_.all_back_seconds >= 0) return record_.all_back_seconds >= 0;
      const auto counts = fleet_.counts();
      if (counts.closes == 0 || counts.subscribed_now < subscribed) return false;
      record_.all_back_seconds = std::chrono::duration<double>(Clock::now() - *signalled).count();
      std::fprintf(stderr, "all %llu clients back %.2fs after the signal\n",
                   static_cast<unsigned long long>(subscribed), record_.all_back_seconds);
      return true;
    };
    record_.steps.push_back(run_step(options_.rate, options_.duration, [&] {
      if (!signalled && now_s() - began >= options_.kill_after) {
        signalled = Clock::now();
        if (options_.server_pid != 0 && ::kill(options_.server_pid, SIGTERM) == 0) {
          record_.server_signalled = true;
          std::fprintf(stderr, "sent SIGTERM to server pid %d\n", options_.server_pid);
        }
      }
      all_back();
    }));
    // Clients keep reconnecting after the publishing phase, until all are back or time is up.
    if (signalled) wait(options_.duration, all_back);
    const auto counts = fleet_.counts();
    record_.dropped = counts.closes;
    record_.resubscribed = counts.resubscribed;
  }

  void finish() {
    record_.load_average_after = load_average();
    record_.fleet = fleet_.summarize(published_now());
    record_.overall_latency = Percentiles::of(overall_);
    record_.publish_errors = publisher_->errors();
    record_.published_unheard = publisher_->unheard();
    auto& problems = record_.problems;
    if (record_.connect_failures > 0) problems.push_back("connect failures");
    if (record_.publish_errors > 0) problems.push_back("publish errors");
    if (record_.published_unheard > 0 && options_.mode != Mode::reconnect)
      problems.push_back("articles published with no subscriber");
    const bool losses_expected = options_.mode == Mode::reconnect || options_.mode == Mode::ramp;
    if (!losses_expected && record_.fleet.missing > 0) problems.push_back("articles lost");
    if (record_.fleet.duplicates > 0) problems.push_back("duplicates");
    if (record_.fleet.out_of_order > 0) problems.push_back("out of order");
    if (options_.mode != Mode::reconnect && !record_.fleet.close_labels.empty()) {
      problems.push_back("reading clients were closed");
    }
    if (options_.mode == Mode::slow && record_.fleet.slow_clients > 0 &&
        record_.fleet.slow_close_labels.count(slow_close_label(options_.transport)) == 0) {
      problems.push_back(std::string("no slow client was closed with ") +
                         slow_close_label(options_.transport));
    }
    if (options_.mode == Mode::ramp && record_.best_step < 0)
      problems.push_back("no ramp step passed");
    if (options_.mode == Mode::reconnect && record_.all_back_seconds < 0) {
      problems.push_back("not every client came back");
    }
    record_.ok = problems.empty();
  }

  const Options& options_;
  ClientFleet fleet_;
  std::optional<Publisher> publisher_;
  RunRecord record_;
  Clock::time_point start_;
  std::string phase_ = "start";
  IntervalTotals second_, step_;
  LatencyHistogram overall_;
  std::optional<ProcessSample> last_server_, last_self_;
  std::uint64_t last_published_ = 0;
  double last_tick_t_ = 0;
  Streams subscribers_{};
};

}  // namespace

RunRecord run_scenario(const Options& options) { return ScenarioRunner(options).run(); }

}  // namespace newspush::loadtest

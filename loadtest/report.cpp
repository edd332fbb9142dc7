#include "loadtest/report.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "loadtest/format.hpp"
#include <ostream>
#include <sstream>
#include <thread>

namespace newspush::loadtest {
namespace {

using nlohmann::json;

std::string ms(std::uint64_t micros) { return fmt("%.2f", static_cast<double>(micros) / 1000.0); }
std::string num(double value) { return fmt("%.0f", value); }

std::string labels(const std::map<std::string, std::uint64_t>& counts) {
  if (counts.empty()) return "none";
  std::string text;
  for (const auto& [label, count] : counts) {
    if (!text.empty()) text += ", ";
    text += label + " x" + std::to_string(count);
  }
  return text;
}

using Rows = std::vector<std::pair<std::string, std::string>>;

Rows summary_rows(const RunRecord& r) {
  const auto& o = r.options;
  const auto& f = r.fleet;
  const std::string cores = std::to_string(std::thread::hardware_concurrency());
  Rows rows = {
      {"mode", to_string(o.mode)},
      {"target",
       o.target == Target::nchan
           ? std::string("nchan: subscribers on ") + o.url + "<categories>, POST to " +
                 o.publish_url + "<category>"
           : std::string("newspushd over ") +
                 (o.transport == Transport::sse ? "SSE" : "WebSocket") + ": " + o.url +
                 ", PUBLISH " + o.channel + " on " + o.redis},
      {"open files limit",
       std::to_string(r.file_limit.soft) + " (hard " + std::to_string(r.file_limit.hard) + ")"},
      {"machine load average", r.load_average_before + " before, " + r.load_average_after +
                                   " after (" + cores + " cores: more means contention)"},
      {"connections", std::to_string(r.subscribed) + " subscribed of " +
                          std::to_string(o.connections) + ", " +
                          std::to_string(r.connect_failures) + " failed, over " +
                          std::to_string(o.source_addresses) + " source addresses"},
      {"connect", num(r.connects_per_s) + "/s; connect+subscribe p50 " +
                      ms(f.connect_latency.percentile(0.5)) + " ms, p99 " +
                      ms(f.connect_latency.percentile(0.99)) + " ms"},
      {"categories per client",
       std::to_string(o.categories_per_client) + " of 8 (seed " + std::to_string(o.seed) + ")"},
  };
  if (o.mode != Mode::idle) {
    const auto& l = r.overall_latency;
    rows.push_back({"latency (ms)", "p50 " + ms(l.p50) + "  p90 " + ms(l.p90) + "  p99 " +
                                        ms(l.p99) + "  p99.9 " + ms(l.p999) + "  max " + ms(l.max) +
                                        "  (" + std::to_string(l.count) + " samples)"});
    rows.push_back({"deliveries", std::to_string(f.received_unique) + " of " +
                                      std::to_string(f.expected) + " expected; missing " +
                                      std::to_string(f.missing) + " (" +
                                      std::to_string(f.clients_with_loss) +
                                      " clients), duplicated " + std::to_string(f.duplicates) +
                                      ", out of order " + std::to_string(f.out_of_order)});
    rows.push_back({"publisher", std::to_string(r.publish_errors) + " errors, " +
                                     std::to_string(r.published_unheard) + " unheard"});
    rows.push_back({"reading clients closed", labels(f.close_labels)});
  }
  if (o.mode == Mode::slow) {
    rows.push_back({"slow clients", std::to_string(f.slow_clients) + ", " +
                                        std::to_string(f.slow_received) +
                                        " articles received, backlog included"});
    rows.push_back({"slow clients ended", labels(f.slow_close_labels) + " (" +
                                              slow_close_label(o.transport) + " expected)"});
  }
  if (o.mode == Mode::idle && r.server_bytes_per_connection >= 0) {
    rows.push_back({"server RSS", fmt("%.1f", r.server_rss_before_mb) + " MB -> " +
                                      fmt("%.1f", r.server_rss_after_mb) + " MB"});
    rows.push_back({"server bytes per connection", num(r.server_bytes_per_connection)});
  }
  if (o.mode == Mode::reconnect) {
    rows.push_back({"server signalled", r.server_signalled ? "yes (SIGTERM)" : "no"});
    rows.push_back({"dropped / resubscribed",
                    std::to_string(r.dropped) + " / " + std::to_string(r.resubscribed)});
    rows.push_back({"all back after", r.all_back_seconds < 0 ? "not all came back"
                                                             : fmt("%.2f s", r.all_back_seconds)});
    rows.push_back({"outage per client (ms)", "p50 " + ms(f.outage.percentile(0.5)) + "  p99 " +
                                                  ms(f.outage.percentile(0.99)) + "  max " +
                                                  ms(f.outage.max())});
  }
  if (!f.connect_errors.empty()) rows.push_back({"connect errors", labels(f.connect_errors)});
  rows.push_back({"result", r.ok ? "OK" : "FAILED"});
  for (const auto& problem : r.problems) rows.push_back({"problem", problem});
  return rows;
}

const std::vector<std::string> kStepColumns = {
    "articles/s",  "breaking/s", "published", "deliveries/s", "lost",     "dup",
    "ooo",         "p50 ms",     "p90 ms",    "p99 ms",       "p99.9 ms", "max ms",
    "srv cpu-s/M", "srv cpu%",   "gen cpu%",  "pass"};

std::vector<std::string> step_cells(const StepResult& s) {
  return {num(s.rate),
          num(s.breaking_rate),
          std::to_string(s.published),
          num(s.deliveries_per_s),
          std::to_string(s.lost),
          std::to_string(s.duplicates),
          std::to_string(s.out_of_order),
          ms(s.latency.p50),
          ms(s.latency.p90),
          ms(s.latency.p99),
          ms(s.latency.p999),
          ms(s.latency.max),
          s.server_cpu_s_per_million < 0 ? "-" : fmt("%.2f", s.server_cpu_s_per_million),
          s.server_cpu_percent < 0 ? "-" : num(s.server_cpu_percent),
          s.generator_cpu_percent < 0 ? "-" : num(s.generator_cpu_percent),
          s.passed ? "yes" : "no"};
}

json percentiles_json(const Percentiles& p) {
  return {{"p50_ms", p.p50 / 1000.0}, {"p90_ms", p.p90 / 1000.0},
          {"p99_ms", p.p99 / 1000.0}, {"p999_ms", p.p999 / 1000.0},
          {"max_ms", p.max / 1000.0}, {"mean_ms", p.mean / 1000.0},
          {"count", p.count}};
}

struct Series {
  std::string name;
  std::string color;
  std::vector<double> values;
};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

std::string svg_chart(const std::string& title, const std::string& unit,
                      const std::vector<double>& x, const std::vector<Series>& series) {
  constexpr double width = 860, height = 260, left = 70, right = 20, top = 30, bottom = 40;
  double x_max = x.empty() ? 1 : std::max(1.0, x.back());
  double y_max = 0;
  for (const auto& s : series) {
    for (double v : s.values) y_max = std::max(y_max, v);
  }
  y_max = y_max <= 0 ? 1 : y_max * 1.1;
  const auto px = [&](double v) { return left + v / x_max * (width - left - right); };
  const auto py = [&](double v) { return top + (1 - v / y_max) * (height - top - bottom); };
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
      << "' viewBox='0 0 " << width << " " << height << "'>\n"
      << "<text x='" << left << "' y='18' class='title'>" << escape(title) << " (" << escape(unit)
      << ")</text>\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = y_max * i / 4;
    svg << "<line x1='" << left << "' x2='" << width - right << "' y1='" << py(v) << "' y2='"
        << py(v) << "' class='grid'/><text x='" << left - 6 << "' y='" << py(v) + 4
        << "' class='axis' text-anchor='end'>" << fmt(v < 10 ? "%.2f" : "%.0f", v) << "</text>\n";
  }
  for (int i = 0; i <= 5; ++i) {
    const double v = x_max * i / 5;
    svg << "<text x='" << px(v) << "' y='" << height - bottom + 16
        << "' class='axis' text-anchor='middle'>" << fmt("%.0f", v) << " s</text>\n";
  }
  double legend_x = width - right - 115.0 * static_cast<double>(series.size());
  for (const auto& s : series) {
    svg << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.8' points='";
    for (std::size_t i = 0; i < s.values.size() && i < x.size(); ++i) {
      svg << px(x[i]) << "," << py(s.values[i]) << " ";
    }
    svg << "'/>\n<rect x='" << legend_x << "' y='9' width='12' height='4' fill='" << s.color
        << "'/><text x='" << legend_x + 16 << "' y='16' class='axis'>" << escape(s.name)
        << "</text>\n";
    legend_x += 115;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace

void print_table(const RunRecord& record, std::ostream& out) {
  out << "\nnewspush-loadtest " << to_string(record.options.mode) << " against "
      << to_string(record.options.target) << " at " << record.options.url << " ("
      << record.started_at << ")\n";
  for (const auto& [name, value] : summary_rows(record)) {
    std::string left = "  " + name;
    left.resize(std::max<std::size_t>(left.size() + 1, 32), ' ');
    out << left << value << "\n";
  }
  if (record.steps.empty()) return;
  out << "\n";
  std::vector<std::vector<std::string>> rows = {kStepColumns};
  for (const auto& step : record.steps) rows.push_back(step_cells(step));
  std::vector<std::size_t> widths(kStepColumns.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    out << " ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      out << " " << std::string(widths[i] - row[i].size(), ' ') << row[i];
    }
    out << "\n";
  }
  if (record.best_step >= 0) {
    const auto& best = record.steps[record.best_step];
    out << "\n  highest passing step: " << num(best.deliveries_per_s) << " deliveries/s with p99 "
        << ms(best.latency.p99) << " ms < " << record.options.p99_target_ms
        << " ms and nothing lost\n";
  }
}

std::string to_json(const RunRecord& r) {
  const auto& o = r.options;
  json steps = json::array();
  for (const auto& s : r.steps) {
    steps.push_back({{"rate", s.rate},
                     {"breaking_rate", s.breaking_rate},
                     {"seconds", s.seconds},
                     {"published", s.published},
                     {"expected", s.expected},
                     {"delivered", s.delivered},
                     {"lost", s.lost},
                     {"duplicates", s.duplicates},
                     {"out_of_order", s.out_of_order},
                     {"deliveries_per_s", s.deliveries_per_s},
                     {"latency", percentiles_json(s.latency)},
                     {"server_cpu_seconds", s.server_cpu_seconds},
                     {"server_cpu_s_per_million", s.server_cpu_s_per_million},
                     {"server_cpu_percent", s.server_cpu_percent},
                     {"generator_cpu_percent", s.generator_cpu_percent},
                     {"passed", s.passed}});
  }
  json timeline = json::array();
  for (const auto& t : r.timeline) {
    timeline.push_back({{"t", t.t},
                        {"phase", t.phase},
                        {"published_per_s", t.published_per_s},
                        {"deliveries_per_s", t.deliveries_per_s},
                        {"latency", percentiles_json(t.latency)},
                        {"connections", t.connections},
                        {"generator_cpu_percent", t.generator_cpu_percent},
                        {"server_cpu_percent", t.server_cpu_percent},
                        {"server_rss_mb", t.server_rss_mb}});
  }
  const auto& f = r.fleet;
  json result = {
      {"started_at", r.started_at},
      {"load_average", {{"before", r.load_average_before}, {"after", r.load_average_after}}},
      {"options",
       {{"mode", to_string(o.mode)},
        {"target", to_string(o.target)},
        {"transport", to_string(o.transport)},
        {"url", o.url},
        {"publish_url", o.publish_url},
        {"redis", o.redis},
        {"connections", o.connections},
        {"source_addresses", o.source_addresses},
        {"categories", o.categories_per_client},
        {"seed", o.seed},
        {"threads", o.threads},
        {"connect_rate", o.connect_rate},
        {"rate", o.rate},
        {"breaking_rate", o.breaking_rate},
        {"article_bytes", o.article_bytes},
        {"duration", o.duration},
        {"ramp_step", o.ramp_step},
        {"step_seconds", o.step_seconds},
        {"max_rate", o.max_rate},
        {"p99_target_ms", o.p99_target_ms},
        {"slow_fraction", o.slow_fraction},
        {"server_pid", o.server_pid}}},
      {"open_files_limit", {{"soft", r.file_limit.soft}, {"hard", r.file_limit.hard}}},
      {"connect",
       {{"subscribed", r.subscribed},
        {"failures", r.connect_failures},
        {"seconds", r.connect_seconds},
        {"per_second", r.connects_per_s},
        {"latency", percentiles_json(Percentiles::of(f.connect_latency))},
        {"errors", f.connect_errors}}},
      {"latency", percentiles_json(r.overall_latency)},
      {"deliveries",
       {{"expected", f.expected},
        {"received_unique", f.received_unique},
        {"missing", f.missing},
        {"duplicates", f.duplicates},
        {"out_of_order", f.out_of_order},
        {"clients_with_loss", f.clients_with_loss},
        {"reading_clients", f.reading_clients},
        {"closes", f.close_labels}}},
      {"slow",
       {{"clients", f.slow_clients},
        {"received", f.slow_received},
        {"ended", f.slow_close_labels}}},
      {"publisher", {{"errors", r.publish_errors}, {"unheard", r.published_unheard}}},
      {"idle",
       {{"server_rss_before_mb", r.server_rss_before_mb},
        {"server_rss_after_mb", r.server_rss_after_mb},
        {"server_bytes_per_connection", r.server_bytes_per_connection}}},
      {"reconnect",
       {{"server_signalled", r.server_signalled},
        {"dropped", r.dropped},
        {"resubscribed", r.resubscribed},
        {"all_back_seconds", r.all_back_seconds},
        {"outage", percentiles_json(Percentiles::of(f.outage))}}},
      {"steps", steps},
      {"best_step", r.best_step},
      {"timeline", timeline},
      {"ok", r.ok},
      {"problems", r.problems},
  };
  return result.dump(2) + "\n";
}

std::string to_html(const RunRecord& r) {
  std::vector<double> x;
  Series p50{"p50", "#2b8a3e", {}}, p90{"p90", "#1971c2", {}}, p99{"p99", "#e8590c", {}},
      max{"max", "#c92a2a", {}}, deliveries{"deliveries/s", "#1971c2", {}},
      cpu{"server CPU %", "#862e9c", {}}, generator_cpu{"generator CPU %", "#e8590c", {}},
      rss{"server RSS MB", "#2b8a3e", {}}, conns{"connections", "#495057", {}};
  for (const auto& t : r.timeline) {
    x.push_back(t.t);
    p50.values.push_back(t.latency.p50 / 1000.0);
    p90.values.push_back(t.latency.p90 / 1000.0);
    p99.values.push_back(t.latency.p99 / 1000.0);
    max.values.push_back(t.latency.max / 1000.0);
    deliveries.values.push_back(t.deliveries_per_s);
    cpu.values.push_back(std::max(0.0, t.server_cpu_percent));
    generator_cpu.values.push_back(t.generator_cpu_percent);
    rss.values.push_back(std::max(0.0, t.server_rss_mb));
    conns.values.push_back(static_cast<double>(t.connections));
  }
  std::ostringstream html;
  html << "<!doctype html>\n<html><head><meta charset='utf-8'><title>newspush-loadtest "
       << to_string(r.options.mode) << " " << r.started_at << "</title>\n<style>"
       << "body{font:14px system-ui,sans-serif;margin:24px;color:#212529}"
       << "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #dee2e6;"
       << "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
       << ".ok{color:#2b8a3e;font-weight:bold}.bad{color:#c92a2a;font-weight:bold}"
       << "svg{display:block;margin:16px 0}.title{font-weight:bold;font-size:14px}"
       << ".axis{font-size:11px;fill:#495057}.grid{stroke:#e9ecef}</style></head><body>\n"
       << "<h1>newspush-loadtest: " << to_string(r.options.mode) << " against "
       << to_string(r.options.target) << "</h1>\n<p>" << escape(r.options.url) << ", started "
       << r.started_at << ": <span class='" << (r.ok ? "ok'>OK" : "bad'>FAILED")
       << "</span></p>\n<table>\n";
  for (const auto& [name, value] : summary_rows(r)) {
    html << "<tr><td>" << escape(name) << "</td><td style='text-align:left'>" << escape(value)
         << "</td></tr>\n";
  }
  html << "</table>\n";
  if (!r.steps.empty()) {
    html << "<h2>Publishing phases</h2>\n<table><tr>";
    for (const auto& column : kStepColumns) html << "<th>" << escape(column) << "</th>";
    html << "</tr>\n";
    for (std::size_t i = 0; i < r.steps.size(); ++i) {
      html << "<tr" << (static_cast<int>(i) == r.best_step ? " style='background:#ebfbee'" : "")
           << ">";
      for (const auto& cell : step_cells(r.steps[i])) html << "<td>" << escape(cell) << "</td>";
      html << "</tr>\n";
    }
    html << "</table>\n";
  }
  html << "<h2>Over time (one point per second)</h2>\n"
       << svg_chart("End-to-end latency, publish to client", "ms", x, {p50, p90, p99, max})
       << svg_chart("Deliveries per second (reading clients)", "per s", x, {deliveries})
       << svg_chart("Connections subscribed", "count", x, {conns});
  if (r.options.server_pid != 0) {
    html << svg_chart("CPU (100% = one core)", "%", x, {cpu, generator_cpu})
         << svg_chart("Server resident memory", "MB", x, {rss});
  }
  html << "</body></html>\n";
  return html.str();
}

}  // namespace newspush::loadtest

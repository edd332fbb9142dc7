#include "loadtest/compare.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "loadtest/format.hpp"

namespace newspush::loadtest {
namespace {

using nlohmann::json;


std::string percent(double value) { return value < 0 ? "-" : fmt("%.0f%%", value); }

struct Run {
  std::string label;  // the target, e.g. "newspushd", "newspushd/sse" or "nchan"
  json result;
  const json* best = nullptr;          // highest passing step
  const json* first_failed = nullptr;  // the step that stopped the ramp, if any
};

std::string why_failed(const json& step, double p99_target_ms) {
  std::string why;
  const auto add = [&](const std::string& part) { why += (why.empty() ? "" : ", ") + part; };
  if (step["lost"].get<std::uint64_t>() > 0)
    add(std::to_string(step["lost"].get<std::uint64_t>()) + " lost");
  if (step["duplicates"].get<std::uint64_t>() > 0) add("duplicates");
  if (step["out_of_order"].get<std::uint64_t>() > 0) add("out of order");
  const double p99 = step["latency"]["p99_ms"].get<double>();
  if (p99 >= p99_target_ms) add("p99 " + fmt("%.1f", p99) + " ms");
  return why.empty() ? "nothing published" : why;
}

std::string step_summary(const json* step) {
  if (step == nullptr) return "-";
  return fmt("%.0f deliv/s", (*step)["deliveries_per_s"].get<double>()) + ", p99 " +
         fmt("%.1f ms", (*step)["latency"]["p99_ms"].get<double>());
}

void print_rows(const std::vector<std::pair<std::string, std::vector<std::string>>>& rows,
                std::ostream& out) {
  std::size_t left = 0;
  std::vector<std::size_t> widths;
  for (const auto& [name, cells] : rows) {
    left = std::max(left, name.size());
    widths.resize(std::max(widths.size(), cells.size()), 0);
    for (std::size_t i = 0; i < cells.size(); ++i) widths[i] = std::max(widths[i], cells[i].size());
  }
  for (const auto& [name, cells] : rows) {
    out << "  " << name << std::string(left - name.size(), ' ');
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out << "   " << cells[i];
      if (i + 1 < cells.size()) out << std::string(widths[i] - cells[i].size(), ' ');
    }
    out << "\n";
  }
}

}  // namespace

bool print_comparison(const std::vector<std::string>& json_paths, std::ostream& out) {
  std::vector<Run> runs;
  for (const auto& path : json_paths) {
    std::ifstream file(path);
    Run run;
    try {
      run.result = json::parse(file);
    } catch (const json::exception& error) {
      out << "cannot read " << path << ": " << error.what() << "\n";
      return false;
    }
    run.label = run.result["options"].value("target", std::string("newspushd"));
    runs.push_back(std::move(run));
  }
  // newspushd over both transports side by side: say which is which.
  const auto transport = [](const Run& run) {
    return run.result["options"].value("transport", std::string("websocket"));
  };
  if (std::any_of(runs.begin(), runs.end(),
                  [&](const Run& run) { return transport(run) == "sse"; })) {
    for (auto& run : runs) {
      if (run.label == "newspushd") run.label += transport(run) == "sse" ? "/sse" : "/ws";
    }
  }
  // Pointers into the results only once the vector no longer moves.
  for (auto& run : runs) {
    const json& steps = run.result["steps"];
    const int best = run.result.value("best_step", -1);
    if (best >= 0 && best < static_cast<int>(steps.size())) run.best = &steps[best];
    if (best < 0 && steps.size() == 1 && steps[0]["passed"].get<bool>()) run.best = &steps[0];
    for (const auto& step : steps) {
      if (!step["passed"].get<bool>()) {
        run.first_failed = &step;
        break;
      }
    }
  }

  using Rows = std::vector<std::pair<std::string, std::vector<std::string>>>;
  Rows rows;
  const auto row = [&](const std::string& name, const auto& cell) {
    std::vector<std::string> cells;
    for (const auto& run : runs) cells.push_back(cell(run));
    rows.emplace_back(name, std::move(cells));
  };
  const auto best_field = [](const Run& run, const char* key, const char* format) {
    if (run.best == nullptr || (*run.best)[key].get<double>() < 0) return std::string("-");
    return fmt(format, (*run.best)[key].get<double>());
  };
  row("", [](const Run& run) { return run.label; });
  row("mode", [](const Run& run) { return run.result["options"]["mode"].get<std::string>(); });
  row("connections subscribed", [](const Run& run) {
    return std::to_string(run.result["connect"]["subscribed"].get<std::uint64_t>()) + " of " +
           std::to_string(run.result["options"]["connections"].get<unsigned>());
  });
  row("highest passing step", [](const Run& run) { return step_summary(run.best); });
  row("  server CPU-s per million",
      [&](const Run& run) { return best_field(run, "server_cpu_s_per_million", "%.2f"); });
  row("  server CPU (one core = 100%)", [&](const Run& run) {
    return run.best ? percent((*run.best).value("server_cpu_percent", -1.0)) : "-";
  });
  row("  generator CPU", [&](const Run& run) {
    return run.best ? percent((*run.best).value("generator_cpu_percent", -1.0)) : "-";
  });
  row("stopped at", [](const Run& run) {
    if (run.first_failed == nullptr) return std::string("no failing step (raise --max-rate)");
    const double target = run.result["options"]["p99_target_ms"].get<double>();
    return fmt("%.0f articles/s: ", (*run.first_failed)["rate"].get<double>()) +
           why_failed(*run.first_failed, target);
  });
  row("  server / generator CPU there", [](const Run& run) {
    if (run.first_failed == nullptr) return std::string("-");
    return percent(run.first_failed->value("server_cpu_percent", -1.0)) + " / " +
           percent(run.first_failed->value("generator_cpu_percent", -1.0));
  });
  row("lost / dup / ooo, whole run", [](const Run& run) {
    const auto& d = run.result["deliveries"];
    return std::to_string(d["missing"].get<std::uint64_t>()) + " / " +
           std::to_string(d["duplicates"].get<std::uint64_t>()) + " / " +
           std::to_string(d["out_of_order"].get<std::uint64_t>());
  });
  row("machine load average", [](const Run& run) {
    return run.result["load_average"]["before"].get<std::string>() + " -> " +
           run.result["load_average"]["after"].get<std::string>();
  });
  out << "\nSide by side:\n";
  print_rows(rows, out);

  // Per step, matched on the article rate.
  std::map<double, std::vector<std::string>> by_rate;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (const auto& step : runs[i].result["steps"]) {
      auto& cells = by_rate[step["rate"].get<double>()];
      cells.resize(runs.size(), "-");
      cells[i] = fmt("%.0f/s", step["deliveries_per_s"].get<double>()) + " p99 " +
                 fmt("%.1f ms", step["latency"]["p99_ms"].get<double>()) + " " +
                 (step["server_cpu_s_per_million"].get<double>() < 0
                      ? std::string("-")
                      : fmt("%.2f", step["server_cpu_s_per_million"].get<double>())) +
                 " cpu-s/M " + (step["passed"].get<bool>() ? "pass" : "FAIL");
    }
  }
  Rows steps;
  std::vector<std::string> header;
  for (const auto& run : runs) header.push_back(run.label);
  steps.emplace_back("articles/s", header);
  for (auto& [rate, cells] : by_rate) {
    cells.resize(runs.size(), "-");
    steps.emplace_back(fmt("%.0f", rate), cells);
  }
  out << "\nPer step (deliveries/s, p99, server CPU-s per million deliveries):\n";
  print_rows(steps, out);

  if (runs.size() >= 2 && runs[0].best != nullptr) {
    out << "\n";
    const double first = (*runs[0].best)["deliveries_per_s"].get<double>();
    for (std::size_t i = 1; i < runs.size(); ++i) {
      if (runs[i].best == nullptr) {
        out << "  " << runs[i].label << " passed no step\n";
        continue;
      }
      const double other = (*runs[i].best)["deliveries_per_s"].get<double>();
      out << "  sustained fan-out " << runs[0].label << " / " << runs[i].label << ": "
          << fmt("%.2fx", other > 0 ? first / other : 0);
      if (runs[0].first_failed == nullptr || runs[i].first_failed == nullptr)
        out << " (not final: a run passed every step, its limit is above --max-rate)";
      out << "\n";
    }
  }
  return true;
}

}  // namespace newspush::loadtest

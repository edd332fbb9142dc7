#pragma once
// Reads another process's CPU time and resident memory from /proc (Linux).
#include <optional>
#include <string>

namespace newspush::loadtest {

struct ProcessSample {
  double cpu_seconds = 0;  // utime + stime
  double rss_bytes = 0;    // VmRSS
};

std::optional<ProcessSample> sample_process(int pid);

// "1.02 0.87 0.55" from /proc/loadavg: other work on a shared machine skews every number.
std::string load_average();

struct FileLimit {
  unsigned long soft = 0;
  unsigned long hard = 0;
};
// Raises this process's RLIMIT_NOFILE soft limit to its hard limit; returns what is in force.
FileLimit raise_file_limit();

}  // namespace newspush::loadtest

#pragma once
// A child process for integration tests: its own process group, stdout and stderr captured line
// by line, and never left behind (the destructor SIGKILLs the group and reaps it).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace newspush::test {

class ChildProcess {
 public:
  // argv[0] is the program (searched in PATH if it has no '/'). extra_env holds "NAME=value"
  // entries that override or extend this process's environment. Throws std::runtime_error if
  // the program cannot be started.
  explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  // Signals the child itself (not its group); false once it has been reaped.
  bool send_signal(int signal);
  // The exit code, or -signal if it was killed; nullopt if still running after timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running() { return !wait_exit(std::chrono::milliseconds{0}).has_value(); }
  // SIGKILL to the whole process group, then reap. Idempotent.
  void kill();

  // stdout and stderr, interleaved as written, split into lines (without '\n').
  std::vector<std::string> lines() const;
  std::string output() const;  // every line, '\n'-joined, for failure messages
  bool wait_for_line(std::string_view substring, std::chrono::milliseconds timeout);
  // Waits until at least n lines contain substring.
  bool wait_for_line_count(std::string_view substring, std::size_t n,
                           std::chrono::milliseconds timeout);

 private:
  void read_output(int fd);
  std::size_t count_lines(std::string_view substring) const;  // caller holds mutex_

  int pid_ = -1;
  std::optional<int> exit_status_;
  mutable std::mutex mutex_;
  std::condition_variable line_added_;
  std::vector<std::string> lines_;
  bool output_closed_ = false;
  bool stop_reading_ = false;  // guarded by mutex_
  std::thread reader_;
};

}  // namespace newspush::test

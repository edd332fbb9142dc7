#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace newspush::test {
namespace {

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env = extra;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view current(*entry);
    std::string_view name = current.substr(0, current.find('='));
    bool overridden = false;
    for (const std::string& e : extra)
      overridden = overridden || (e.size() > name.size() && e.compare(0, name.size(), name) == 0 &&
                                  e[name.size()] == '=');
    if (!overridden) env.emplace_back(current);
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::runtime_error spawn_error(const std::string& program, int error) {
  return std::runtime_error("cannot start " + program + ": " + std::strerror(error));
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess needs a program");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw spawn_error(argv[0], errno);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Own group: kill() reaches whatever the child forks too.
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2})
    sigaddset(&defaults, signal);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env = merged_environment(extra_env);
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<char*> c_env = c_strings(env);
  bool search_path = argv[0].find('/') == std::string::npos;
  int error = (search_path ? posix_spawnp : posix_spawn)(&pid_, argv[0].c_str(), &actions,
                                                         &attributes, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(pipe_fds[1]);
  if (error != 0) {
    close(pipe_fds[0]);
    throw spawn_error(argv[0], error);
  }
  reader_ = std::thread([this, fd = pipe_fds[0]] { read_output(fd); });
}

ChildProcess::~ChildProcess() {
  kill();
  {
    std::lock_guard lock(mutex_);
    stop_reading_ = true;
  }
  reader_.join();
}

bool ChildProcess::send_signal(int signal) {
  if (exit_status_) return false;
  return ::kill(pid_, signal) == 0;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_status_) {
    int status = 0;
    pid_t reaped = waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_) {
      exit_status_ = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
      // The exit can be seen before the reader thread has drained the pipe: wait for its end of
      // file, so output() holds everything the process wrote.
      std::unique_lock lock(mutex_);
      line_added_.wait_for(lock, std::chrono::seconds(5), [this] { return output_closed_; });
    } else if (reaped < 0 && errno != EINTR) {
      exit_status_ = -SIGKILL;  // not our child any more; nothing left to wait for
    } else if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  }
  return exit_status_;
}

void ChildProcess::kill() {
  if (exit_status_) return;
  // The group id is certainly ours while the leader is unreaped.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

void ChildProcess::read_output(int fd) {
  std::string partial;
  char buffer[4096];
  for (;;) {
    pollfd descriptor{fd, POLLIN, 0};
    int ready = poll(&descriptor, 1, 100);
    if (ready == 0) {
      // A grandchild outside our group could hold the pipe open forever: give up when told.
      std::lock_guard lock(mutex_);
      if (stop_reading_) break;
      continue;
    }
    if (ready < 0 && errno == EINTR) continue;
    ssize_t n = ready < 0 ? -1 : read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(mutex_);
    partial.append(buffer, static_cast<std::size_t>(n));
    for (std::size_t newline; (newline = partial.find('\n')) != std::string::npos;) {
      lines_.push_back(partial.substr(0, newline));
      partial.erase(0, newline + 1);
    }
    line_added_.notify_all();
  }
  close(fd);
  std::lock_guard lock(mutex_);
  if (!partial.empty()) lines_.push_back(partial);
  output_closed_ = true;
  line_added_.notify_all();
}

std::vector<std::string> ChildProcess::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::string ChildProcess::output() const {
  std::lock_guard lock(mutex_);
  std::string all;
  for (const std::string& line : lines_) all += line + '\n';
  return all;
}

std::size_t ChildProcess::count_lines(std::string_view substring) const {
  std::size_t count = 0;
  for (const std::string& line : lines_)
    if (line.find(substring) != std::string::npos) ++count;
  return count;
}

bool ChildProcess::wait_for_line(std::string_view substring, std::chrono::milliseconds timeout) {
  return wait_for_line_count(substring, 1, timeout);
}

bool ChildProcess::wait_for_line_count(std::string_view substring, std::size_t n,
                                       std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return line_added_.wait_for(lock, timeout, [&] {
    return count_lines(substring) >= n || output_closed_;
  }) && count_lines(substring) >= n;
}

}  // namespace newspush::test

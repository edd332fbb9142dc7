#pragma once
// Running a command-line program (the newspush CLI, newspushd with bad flags) to completion, for
// integration tests.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace newspush::test {

struct CliResult {
  int exit_code = -1000;
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv to completion (wait_exit also waits for the output pipe to be drained). `env` holds
// "NAME=value" entries added to the environment.
inline CliResult run_program(std::vector<std::string> argv, std::vector<std::string> env = {}) {
  ChildProcess child(std::move(argv), std::move(env));
  auto code = child.wait_exit(std::chrono::seconds(30));
  if (!code) {
    child.kill();
    ADD_FAILURE() << "did not exit within 30 s:\n" << child.output();
  }
  return {code.value_or(-1000), child.output()};
}

#ifdef NEWSPUSH_CLI_BIN
// newspush with these arguments.
inline CliResult run_cli(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), NEWSPUSH_CLI_BIN);
  return run_program(std::move(args), std::move(env));
}
#endif

}  // namespace newspush::test

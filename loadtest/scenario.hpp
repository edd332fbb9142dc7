#pragma once
#include "loadtest/run_record.hpp"

namespace newspush::loadtest {

// Connects the fleet, runs the mode chosen in options to its end, and returns what it measured.
// Prints progress once a second on stderr. Throws std::runtime_error on set-up failures.
RunRecord run_scenario(const Options& options);

}  // namespace newspush::loadtest

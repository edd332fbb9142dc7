#pragma once
// newspush-loadtest --compare A.json B.json ...: earlier runs' results side by side (run.sh's
// compare scenario: the S2 ramp against newspushd, then against Nchan, in one invocation).
#include <ostream>
#include <string>
#include <vector>

namespace newspush::loadtest {

// Prints the comparison; returns false (after saying why on `out`) if a file cannot be read.
bool print_comparison(const std::vector<std::string>& json_paths, std::ostream& out);

}  // namespace newspush::loadtest

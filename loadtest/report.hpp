#pragma once
#include <iosfwd>
#include <string>

#include "loadtest/run_record.hpp"

namespace newspush::loadtest {

void print_table(const RunRecord& record, std::ostream& out);
std::string to_json(const RunRecord& record);
// Self-contained: inline CSS and SVG, no script, nothing fetched.
std::string to_html(const RunRecord& record);

}  // namespace newspush::loadtest

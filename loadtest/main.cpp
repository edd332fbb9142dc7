// newspush-loadtest: load generator and reporter for newspushd (see loadtest/README.md).
#include <fstream>
#include <iostream>

#include "loadtest/compare.hpp"
#include "loadtest/options.hpp"
#include "loadtest/report.hpp"
#include "loadtest/scenario.hpp"

namespace {

bool write_file(const std::string& path, const std::string& content) {
  std::ofstream file(path);
  file << content;
  if (!file) {
    std::cerr << "newspush-loadtest: cannot write " << path << "\n";
    return false;
  }
  std::cerr << "wrote " << path << "\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace newspush::loadtest;
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const OptionsError& error) {
    std::cerr << "newspush-loadtest: " << error.what() << "\n";
    return 2;
  }
  if (options.help) {
    std::cout << help_text();
    return 0;
  }
  if (!options.compare_paths.empty())
    return print_comparison(options.compare_paths, std::cout) ? 0 : 2;
  try {
    const RunRecord record = run_scenario(options);
    print_table(record, std::cout);
    bool written = true;
    if (!options.json_path.empty()) written &= write_file(options.json_path, to_json(record));
    if (!options.html_path.empty()) written &= write_file(options.html_path, to_html(record));
    return record.ok && written ? 0 : 1;
  } catch (const std::exception& error) {
    std::cerr << "newspush-loadtest: " << error.what() << "\n";
    return 2;
  }
}

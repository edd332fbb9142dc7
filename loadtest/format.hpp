#pragma once
// printf-style formatting of one number, for the report tables.
#include <cstdio>
#include <string>

namespace newspush::loadtest {

inline std::string fmt(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace newspush::loadtest

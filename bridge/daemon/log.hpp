#pragma once
// One line per event on stderr: "LEVEL event key=value ...". The bridge logs little: start-up,
// Redis coming and going, gaps in the log, dead letters.
#include <string>
#include <string_view>

namespace newspush::bridge {

enum class LogLevel { debug, info, warn, error };
void set_log_level(std::string_view level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view event, const std::string& fields = {});

}  // namespace newspush::bridge

# Turns a text file into a C++ header holding it as a string_view, at build time:
#   cmake -DINPUT=file -DOUTPUT=header -DNAME=kSymbol -P embed_text.cmake
file(READ "${INPUT}" content)
set(delimiter "EMBED_")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT}; do not edit.\n#pragma once\n#include <string_view>\n"
  "inline constexpr std::string_view ${NAME} = R\"${delimiter}(${content})${delimiter}\";\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)

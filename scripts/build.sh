#!/usr/bin/env bash
# build.sh [release|sanitize|tsan|fuzz]: configures and builds into build/<kind>.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kind="${1:-release}"
targets=()
case "$kind" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  # The load generator is a tool measured on the release build: not worth a sanitized compile.
  # The unit tests are built here; the integration tests are the release build's, pointed at
  # build/sanitize/server/newspushd (scripts/sanitizer-test.sh).
  sanitize) flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DNEWSPUSH_SANITIZE=ON -DNEWSPUSH_LOADTEST=OFF
                   -DNEWSPUSH_INTEGRATION_TESTS=OFF) ;;
  # ThreadSanitizer: only the server, whose worker and control threads it watches; the tests that
  # drive it are the release build's, pointed at build/tsan/server/newspushd (scripts/test.sh).
  tsan) flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DNEWSPUSH_TSAN=ON -DNEWSPUSH_LOADTEST=OFF
              -DNEWSPUSH_INTEGRATION_TESTS=OFF)
        targets=(--target newspushd) ;;
  # libFuzzer targets only (fuzz/), with clang-14; scripts/fuzz.sh runs them. Line tables are
  # all a crash's stack needs, and compile about 30% faster than full debug information.
  fuzz) flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only
               -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DNEWSPUSH_FUZZ=ON) ;;
  *) echo "build.sh: unknown build kind '$kind'" >&2; exit 2 ;;
esac
dir="$root/build/$kind"
# Let ccache share objects between clones of the repository (CI builds in a fresh clone).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
# Configured every time (a second or two): a build directory made by an older script gets the
# current flags.
cmake -S "$root" -B "$dir" -G Ninja "${flags[@]}" >/dev/null
# Beast translation units take ~1 GB each at -O2; two jobs fit the 2-core CI machine.
cmake --build "$dir" "${targets[@]}" -- -j "${NEWSPUSH_BUILD_JOBS:-$(nproc)}"
